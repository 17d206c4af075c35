-- The extent of every annotation, for viewport reads
-- (GET /items/{id}/annotations?bbox=x0,y0,x1,y1, docs/ANNOTATIONS.md "Viewport reads").
--
-- bbox is the axis-aligned box of the shape, computed by the daemon on every write
-- (lp_ann_store); for a video or volume annotation the union of its stored frames' boxes
-- (an interpolated frame stays inside it). NULL for what has no extent of its own: tags, text
-- types, raster layers and masks (their pixels are in the raster layer); a viewport read always
-- returns those.
--
-- The index is GiST on (item_id, bbox) — btree_gist gives GiST the uuid equality — so a read
-- finds one item's boxes that meet the viewport without visiting the item's other rows.
-- btree_gist is a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

ALTER TABLE annotations ADD COLUMN bbox box;

-- Backfill: the rows stored before this migration get their box from the geometry blob
-- (layout in docs/ANNOTATIONS.md, "Storage"), decoded here by two helper functions that are
-- dropped again at the end.

-- The little-endian IEEE 754 binary64 at byte o of b (finite values; exact).
CREATE FUNCTION loupe_0015_f64(b bytea, o integer) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    hi integer := get_byte(b, o + 7);
    e integer := ((hi & 127) << 4) | (get_byte(b, o + 6) >> 4);
    m double precision := (get_byte(b, o + 6) & 15);
    two double precision := 2;
    v double precision;
BEGIN
    FOR i IN REVERSE 5..0 LOOP
        m := m * 256 + get_byte(b, o + i);
    END LOOP;
    IF e = 0 THEN
        v := m * two ^ (-1074);
    ELSE
        v := (1 + m * two ^ (-52)) * two ^ (e - 1023);
    END IF;
    RETURN CASE WHEN hi >= 128 THEN -v ELSE v END;
END
$$;

-- The little-endian unsigned 32-bit integer at byte o of b.
CREATE FUNCTION loupe_0015_u32(b bytea, o integer) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT get_byte(b, o)::bigint + (get_byte(b, o + 1)::bigint << 8) + (get_byte(b, o + 2)::bigint << 16)
           + (get_byte(b, o + 3)::bigint << 24)
$$;

-- The box of a version-1 geometry blob, or NULL for a type without an extent (or a damaged blob).
CREATE FUNCTION loupe_0015_box(b bytea) RETURNS box
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    t integer;
    o integer := 2;
    x0 double precision := 'Infinity';
    y0 double precision := 'Infinity';
    x1 double precision := '-Infinity';
    y1 double precision := '-Infinity';
    paths bigint := 1;
    n bigint;
    len bigint;
    x double precision;
    y double precision;
    rx double precision;
    ry double precision;
    a double precision;
BEGIN
    IF length(b) < 2 OR get_byte(b, 0) <> 1 THEN
        RETURN NULL;
    END IF;
    t := get_byte(b, 1);
    IF t = 0 OR t = 6 THEN                          -- bounding_box; cuboid: front then back
        FOR k IN 0..(CASE WHEN t = 6 THEN 1 ELSE 0 END) LOOP
            x := loupe_0015_f64(b, o); y := loupe_0015_f64(b, o + 8);
            x0 := least(x0, x); y0 := least(y0, y);
            x1 := greatest(x1, x + loupe_0015_f64(b, o + 16));
            y1 := greatest(y1, y + loupe_0015_f64(b, o + 24));
            o := o + 32;
        END LOOP;
    ELSIF t = 3 THEN                                -- keypoint
        x0 := loupe_0015_f64(b, o); y0 := loupe_0015_f64(b, o + 8); x1 := x0; y1 := y0;
    ELSIF t = 5 THEN                                -- ellipse: its exact rotated extent
        x := loupe_0015_f64(b, o); y := loupe_0015_f64(b, o + 8);
        rx := loupe_0015_f64(b, o + 16); ry := loupe_0015_f64(b, o + 24); a := loupe_0015_f64(b, o + 32);
        x1 := sqrt((rx * cos(a)) ^ 2 + (ry * sin(a)) ^ 2);
        y1 := sqrt((rx * sin(a)) ^ 2 + (ry * cos(a)) ^ 2);
        x0 := x - x1; y0 := y - y1; x1 := x + x1; y1 := y + y1;
    ELSIF t IN (1, 2, 11, 16) THEN                  -- polygons: u32 paths; line: one path
        IF t <> 2 THEN
            paths := loupe_0015_u32(b, o);
            o := o + 4;
        END IF;
        FOR p IN 1..paths LOOP
            n := loupe_0015_u32(b, o);
            o := o + 4;
            FOR i IN 1..n LOOP
                x := loupe_0015_f64(b, o); y := loupe_0015_f64(b, o + 8);
                x0 := least(x0, x); y0 := least(y0, y); x1 := greatest(x1, x); y1 := greatest(y1, y);
                o := o + 16;
            END LOOP;
        END LOOP;
    ELSIF t = 4 THEN                                -- skeleton: x y u8 occluded, u32 name length, name
        n := loupe_0015_u32(b, o);
        o := o + 4;
        FOR i IN 1..n LOOP
            x := loupe_0015_f64(b, o); y := loupe_0015_f64(b, o + 8);
            x0 := least(x0, x); y0 := least(y0, y); x1 := greatest(x1, x); y1 := greatest(y1, y);
            len := loupe_0015_u32(b, o + 17);
            o := o + 21 + CASE WHEN len = 4294967295 THEN 0 ELSE len::integer END;
        END LOOP;
    ELSE
        RETURN NULL;
    END IF;
    IF x0 > x1 OR y0 > y1 THEN                      -- no points
        RETURN NULL;
    END IF;
    RETURN box(point(x1, y1), point(x0, y0));
EXCEPTION WHEN others THEN                          -- a blob shorter than it says: no box
    RETURN NULL;
END
$$;

UPDATE annotations SET bbox = loupe_0015_box(geom) WHERE geom IS NOT NULL AND ranges IS NULL;

UPDATE annotations a SET bbox = u.b
FROM (SELECT f.item_id, f.annotation_id,
             box(point(max(((fb)[0])[0]), max(((fb)[0])[1])), point(min(((fb)[1])[0]), min(((fb)[1])[1]))) AS b
      FROM (SELECT item_id, annotation_id, loupe_0015_box(geom) AS fb FROM annotation_frames
            WHERE geom IS NOT NULL) f
      WHERE fb IS NOT NULL
      GROUP BY f.item_id, f.annotation_id) u
WHERE a.item_id = u.item_id AND a.id = u.annotation_id AND a.ranges IS NOT NULL;

DROP FUNCTION loupe_0015_box(bytea);
DROP FUNCTION loupe_0015_f64(bytea, integer);
DROP FUNCTION loupe_0015_u32(bytea, integer);

CREATE INDEX annotations_bbox_idx ON annotations USING gist (item_id, bbox);
ANALYZE annotations;
