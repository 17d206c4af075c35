/* A worker-side program's view of annotations: read Darwin JSON 2.0 files,
 * store them through db, read them back and write Darwin JSON again — with
 * loupe_annotation, loupe_formats and loupe_db only (no HTTP layer; ctest's
 * unit/db_annotations_sql_no_http checks the binary for it). Against a real
 * PostgreSQL server (with_postgres.sh) and the Darwin samples of the fixtures
 * directory (LOUPE_FIXTURES_DIR). Also: a streamed read refuses columns of
 * an unexpected type instead of misreading them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/annotation/annotation.h"
#include "loupe/annotation/stored.h"
#include "loupe/core/json_scan.h"
#include "loupe/core/util.h"
#include "loupe/db/annotations_sql.h"
#include "loupe/db/db.h"
#include "loupe/formats/darwin.h"

#include "db_int.h" /* lp_db_exec, for setting up rows */

#define TEAM "11111111-1111-4111-8111-111111111111"
#define DATASET "22222222-2222-4222-8222-222222222222"

static char g_url[512];
static char g_fixtures[1024];
static lp_db *g_db;

static const lp_ann_limits LIMITS = {
    .geom = {.max_points = 100000, .max_paths = 1000, .max_pixels = 100000000},
    .max_frame = 999999,
    .max_string = 4096};

/* Runs one statement of test set-up. */
static void script(const char *sql)
{
    lp_error err;
    lp_error_clear(&err);
    if (lp_db_exec(g_db, sql, 0, NULL, &err) < 0)
        fail_msg("%s: %s", sql, err.message);
}

static int setup(void **state)
{
    (void)state;
    lp_error err;
    char admin_url[512], sql[128];
    const char *host = getenv("LOUPE_TEST_PG_HOST"), *port = getenv("LOUPE_TEST_PG_PORT");
    const char *fx = getenv("LOUPE_FIXTURES_DIR"), *src = getenv("LOUPE_SOURCE_DIR");
    if (!host || !port) {
        fprintf(stderr, "run through with_postgres.sh\n");
        return -1;
    }
    if (fx && *fx)
        snprintf(g_fixtures, sizeof g_fixtures, "%s", fx);
    else
        snprintf(g_fixtures, sizeof g_fixtures, "%s/../shared/fixtures", src ? src : ".");
    lp_error_clear(&err);
    snprintf(admin_url, sizeof admin_url, "host=%s port=%s user=postgres dbname=postgres", host, port);
    lp_db *admin = lp_db_connect(admin_url, 0, &err);
    if (!admin)
        return -1;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS lp_t_annotations");
    lp_db_exec(admin, sql, 0, NULL, &err);
    snprintf(sql, sizeof sql, "CREATE DATABASE lp_t_annotations");
    if (lp_db_exec(admin, sql, 0, NULL, &err) < 0)
        return -1;
    lp_db_close(admin);
    snprintf(g_url, sizeof g_url, "host=%s port=%s user=postgres dbname=lp_t_annotations", host, port);
    if (!(g_db = lp_db_connect(g_url, 0, &err)) || lp_db_migrate(g_db, &err) < 0) {
        fprintf(stderr, "migrate: %s\n", err.message);
        return -1;
    }
    lp_error_clear(&err);
    if (lp_db_exec(g_db, "INSERT INTO teams (id, name, slug) VALUES ('" TEAM "', 'T', 't')", 0, NULL, &err) < 0 ||
        lp_db_exec(g_db, "INSERT INTO datasets (id, team_id, slug, name) VALUES ('" DATASET "', '" TEAM "', 'd', 'D')",
                   0, NULL, &err) < 0) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lp_db_close(g_db);
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* A class id per Darwin class name across every file: "…-<index>" (a
 * class's name is unique in the team). */
static void class_id_for(json_t *names, const char *name, char out[37])
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
        if (strcmp(json_string_value(v), name) == 0)
            break;
    if (i == json_array_size(names))
        json_array_append_new(names, json_string(name));
    snprintf(out, 37, "33333333-3333-4333-8333-%012zu", i);
}

/* Imports one Darwin file into a new item and exports it again; every
 * annotation must come back as it was (minus the keys Loupe adds). */
static void round_trip(const char *file, const char *item_id)
{
    char path[1200], sql[1024];
    snprintf(path, sizeof path, "%s/darwin/%s", g_fixtures, file);
    char *text = read_file(path);
    if (!text)
        skip();
    json_error_t jerr;
    static json_t *names;
    json_t *doc = json_loads(text, 0, &jerr), *a, *slot0;
    if (!names)
        names = json_array();
    assert_non_null(doc);
    json_t *list = json_object_get(doc, "annotations");
    slot0 = json_array_get(json_object_get(json_object_get(doc, "item"), "slots"), 0);
    const char *slot_type = json_string_value(json_object_get(slot0, "type"));
    json_int_t frames = json_integer_value(json_object_get(slot0, "frame_count"));
    snprintf(sql, sizeof sql,
             "INSERT INTO items (id, team_id, dataset_id, name) VALUES ('%s', '" TEAM "', '" DATASET "', '%s')",
             item_id, file);
    script(sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO slots (item_id, name, type, frame_count, position) VALUES ('%s', '%s', '%s', %s, 0)",
             item_id, json_string_value(json_object_get(slot0, "slot_name")), slot_type,
             frames ? "(SELECT 1000)" : "NULL");
    script(sql);

    /* read: as an import would, each annotation names its class and slot */
    lp_arena *arena = lp_arena_new(0, 0);
    size_t n = json_array_size(list), i;
    lp_ann *anns = lp_arena_calloc(arena, n, sizeof *anns);
    const lp_ann **ptrs = lp_arena_calloc(arena, n, sizeof *ptrs);
    json_array_foreach(list, i, a) {
        char cid[37];
        lp_error err;
        lp_jscan s;
        json_t *b = json_deep_copy(a);
        class_id_for(names, json_string_value(json_object_get(a, "name")), cid);
        json_object_set_new(b, "class_id", json_string(cid));
        json_object_set(b, "slot", json_array_get(json_object_get(a, "slot_names"), 0));
        char *dumped = json_dumps(b, JSON_COMPACT);
        assert_non_null(dumped);
        char *one = lp_arena_strdup(arena, dumped);
        free(dumped);
        json_decref(b);
        lp_error_clear(&err);
        lp_jscan_init(&s, one, strlen(one));
        if (lp_darwin_read(&s, arena, &LIMITS, LP_ANN_CREATE, &anns[i], &err) != 0)
            fail_msg("%s[%zu]: %s %s", file, i, err.message, err.nfields ? err.fields[0].field : "");
        if (!anns[i].id) {
            char *id = lp_arena_alloc(arena, 37);
            assert_int_equal(lp_uuid_v4(id), 0);
            anns[i].id = id;
        }
        ptrs[i] = &anns[i];
    }
    for (i = 0; i < json_array_size(names); i++) {
        char cid[37];
        class_id_for(names, json_string_value(json_array_get(names, i)), cid);
        snprintf(sql, sizeof sql,
                 "INSERT INTO classes (id, team_id, name, annotation_types, color) VALUES "
                 "('%s', '" TEAM "', '%s', '{polygon}', '#000000') ON CONFLICT DO NOTHING",
                 cid, json_string_value(json_array_get(names, i)));
        script(sql);
    }

    /* store */
    lp_error err;
    lp_buf blobs;
    lp_ann_row *rows;
    lp_ann_frame_row *frows;
    size_t nframes;
    int64_t version;
    lp_error_clear(&err);
    lp_buf_init(&blobs, 1 << 26);
    assert_int_equal(lp_ann_store(ptrs, n, arena, &blobs, &rows, &frows, &nframes, &err), 0);
    assert_int_equal(lp_db_begin(g_db, &err), 0);
    assert_int_equal(lp_db_ann_item_lock(g_db, TEAM, item_id, &version, &err), 0);
    assert_int_equal(lp_db_ann_insert(g_db, TEAM, item_id, NULL, rows, NULL, n, &err), 0);
    assert_int_equal(lp_db_ann_frames_insert(g_db, item_id, frows, nframes, &err), 0);
    assert_int_equal(lp_db_ann_item_commit(g_db, item_id, &version, &err), 0);
    assert_int_equal(lp_db_commit(g_db, &err), 0);
    assert_int_equal(version, 1);
    lp_buf_free(&blobs);

    /* read back and write Darwin JSON */
    lp_buf out;
    lp_db_ann_out row;
    lp_ann_row open;
    bool is_open = false, any = false;
    int rc;
    lp_buf_init(&out, 1 << 26);
    assert_int_equal(lp_db_ann_read_begin(g_db, TEAM, item_id, &version, &err), 0);
    lp_db_ann_cursor *cur = lp_db_ann_open_item(g_db, item_id, NULL, NULL, &err);
    assert_non_null(cur);
    assert_int_equal(lp_buf_puts(&out, "["), 0);
    while ((rc = lp_db_ann_next(cur, &row, &err)) == 1) {
        if (is_open && strcmp(open.id, row.ann.id) == 0) {
            assert_int_equal(lp_darwin_write_frame(&out, arena, &row.frame, false, &err), 0);
            continue;
        }
        if (is_open)
            assert_int_equal(lp_darwin_write_row_end(&out, &open), 0);
        if (any)
            assert_int_equal(lp_buf_puts(&out, ","), 0);
        assert_int_equal(lp_darwin_write_row(&out, arena, &row.ann, &err), 0);
        if (row.has_frame)
            assert_int_equal(lp_darwin_write_frame(&out, arena, &row.frame, true, &err), 0);
        any = true;
        is_open = row.ann.video;
        open = row.ann;
    }
    assert_int_equal(rc, 0);
    if (is_open)
        assert_int_equal(lp_darwin_write_row_end(&out, &open), 0);
    assert_int_equal(lp_buf_puts(&out, "]"), 0);
    lp_db_ann_close(cur);
    lp_db_rollback(g_db);

    /* the round trip (numbers compared as numbers: 102 is 102.0) */
    json_t *want_doc = json_loads(text, JSON_DECODE_INT_AS_REAL, &jerr);
    assert_non_null(want_doc);
    list = json_object_get(want_doc, "annotations");
    json_t *back = json_loads(out.data, JSON_DECODE_INT_AS_REAL, &jerr);
    if (!back)
        fail_msg("%s: the written JSON does not parse: %s", file, jerr.text);
    assert_int_equal(json_array_size(back), n);
    json_array_foreach(list, i, a) {
        json_t *want = json_deep_copy(a), *got = NULL, *g;
        size_t k;
        json_array_foreach(back, k, g)
            if (strcmp(json_string_value(json_object_get(g, "id")), anns[i].id) == 0)
                got = json_deep_copy(g);
        assert_non_null(got);
        static const char *const added[] = {"id", "class_id", "slot", "version", "source"};
        for (k = 0; k < sizeof added / sizeof *added; k++)
            json_object_del(got, added[k]);
        json_object_del(want, "id");
        if (!json_equal(want, got)) {
            char *w = json_dumps(want, JSON_SORT_KEYS), *h = json_dumps(got, JSON_SORT_KEYS);
            fail_msg("%s[%zu] changed:\n sent %s\n back %s", file, i, w, h);
        }
        json_decref(want);
        json_decref(got);
    }
    json_decref(back);
    json_decref(want_doc);
    json_decref(doc);
    lp_buf_free(&out);
    lp_arena_free(arena);
    free(text);
}

static void test_image_files_round_trip(void **state)
{
    (void)state;
    round_trip("image_with_subtypes.json", "44444444-4444-4444-8444-000000000001");
    round_trip("annotation_with_properties.json", "44444444-4444-4444-8444-000000000002");
}

static void test_video_file_round_trips(void **state)
{
    (void)state;
    round_trip("video_with_subtypes.json", "44444444-4444-4444-8444-000000000003");
}

/* A column whose type is not the one the binary decoder expects (here z as
 * bigint: 8 bytes where 4 are read) is refused, not misread. */
static void test_unexpected_column_type_is_refused(void **state)
{
    (void)state;
    lp_error err;
    lp_db_ann_out row;
    int64_t version;
    const char *item = "44444444-4444-4444-8444-000000000001";
    lp_error_clear(&err);
    script("ALTER TABLE annotations ALTER COLUMN z TYPE bigint");
    assert_int_equal(lp_db_ann_read_begin(g_db, TEAM, item, &version, &err), 0);
    lp_db_ann_cursor *cur = lp_db_ann_open_item(g_db, item, NULL, NULL, &err);
    assert_non_null(cur);
    assert_int_equal(lp_db_ann_next(cur, &row, &err), -1);
    assert_int_equal(err.code, LP_E_INTERNAL);
    assert_int_equal(lp_db_ann_next(cur, &row, &err), -1);
    lp_db_ann_close(cur);
    lp_db_rollback(g_db);
    /* the connection is usable again */
    script("ALTER TABLE annotations ALTER COLUMN z TYPE integer");
    assert_int_equal(lp_db_ann_read_begin(g_db, TEAM, item, &version, &err), 0);
    cur = lp_db_ann_open_item(g_db, item, NULL, NULL, &err);
    assert_int_equal(lp_db_ann_next(cur, &row, &err), 1);
    lp_db_ann_close(cur);
    lp_db_rollback(g_db);
}

/* "id:frame;" of every row of a cursor; row->item of each into items (at most cap). */
static size_t cursor_rows(lp_db_ann_cursor *cur, char *out, size_t cap, size_t *items, size_t icap)
{
    lp_error err;
    lp_db_ann_out row;
    size_t len = 0, n = 0;
    int rc;
    lp_error_clear(&err);
    out[0] = '\0';
    while ((rc = lp_db_ann_next(cur, &row, &err)) == 1) {
        len += (size_t)snprintf(out + len, cap - len, "%s:%lld;", row.ann.id,
                                row.has_frame ? (long long)row.frame.frame : -1LL);
        assert_true(len < cap);
        assert_true(n < icap);
        items[n++] = row.item;
    }
    assert_int_equal(rc, 0);
    return n;
}

/* One cursor over a list of items gives each item's rows, as the cursor of
 * that item alone gives them, in the list's order (an item listed twice
 * twice), each row saying whose it is. */
static void test_items_cursor_follows_the_list(void **state)
{
    (void)state;
    static const char *const items[] = {"44444444-4444-4444-8444-000000000003", "44444444-4444-4444-8444-000000000001",
                                        "44444444-4444-4444-8444-000000000003", "44444444-4444-4444-8444-000000000002"};
    enum { N = 4, CAP = 1 << 16 };
    const char *slots[N];
    char *want = calloc(1, CAP), *got = calloc(1, CAP), *one = calloc(1, CAP);
    size_t *idx = calloc(4096, sizeof *idx), total = 0;
    lp_arena *a = lp_arena_new(0, 0);
    lp_error err;
    lp_db_ann_out row;
    lp_error_clear(&err);
    assert_non_null(want);
    assert_non_null(got);
    assert_non_null(one);
    assert_non_null(idx);
    assert_non_null(a);
    for (size_t i = 0; i < N; i++) { /* each item's slot and rows alone */
        lp_db_ann_cursor *cur = lp_db_ann_open_item(g_db, items[i], NULL, NULL, &err);
        assert_non_null(cur);
        assert_int_equal(lp_db_ann_next(cur, &row, &err), 1);
        slots[i] = lp_arena_strdup(a, row.ann.slot);
        lp_db_ann_close(cur);
        cur = lp_db_ann_open_item(g_db, items[i], slots[i], NULL, &err);
        assert_non_null(cur);
        size_t k = cursor_rows(cur, one, CAP, idx, 4096);
        assert_true(k > 0);
        total += k;
        strcat(want, one);
        lp_db_ann_close(cur);
    }
    lp_db_ann_cursor *cur = lp_db_ann_open_items(g_db, items, slots, N, &err);
    assert_non_null(cur);
    size_t n = cursor_rows(cur, got, CAP, idx, 4096);
    lp_db_ann_close(cur);
    assert_int_equal(n, total);
    assert_string_equal(got, want);
    for (size_t k = 1; k < n; k++)
        assert_true(idx[k] >= idx[k - 1]);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[n - 1], N - 1);
    free(want);
    free(got);
    free(one);
    free(idx);
    lp_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_files_round_trip),
        cmocka_unit_test(test_video_file_round_trips),
        cmocka_unit_test(test_items_cursor_follows_the_list),
        cmocka_unit_test(test_unexpected_column_type_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
