"""A minimal ONNX writer for the model tests: the protobuf of small graphs written by hand (no onnx
package), so a test can run a model whose outputs are known exactly."""

import struct


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, data):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(data)) + data


def integer(number, n):
    return varint(number << 3) + varint(n)


def string(number, s):
    return field(number, s.encode())


def value_info(name, dims):
    """A float tensor of shape dims (ValueInfoProto)."""
    shape = b"".join(field(1, integer(1, d)) for d in dims)  # TensorShapeProto.dim{dim_value}
    return string(1, name) + field(2, field(1, integer(1, 1) + field(2, shape)))


def tensor(name, dims, values):
    """A float TensorProto of dims holding values (raw data)."""
    return (b"".join(integer(1, d) for d in dims) + integer(2, 1) + string(8, name) +
            field(9, struct.pack("<%df" % len(values), *values)))


def attr_int(name, value):
    return field(5, string(1, name) + integer(3, value) + integer(20, 2))


def attr_ints(name, values):
    return field(5, string(1, name) + b"".join(integer(8, v) for v in values) + integer(20, 7))


def node(op, inputs, outputs, attrs=b"", name=None):
    """A NodeProto (attrs: attr_int/attr_ints fields)."""
    return (b"".join(string(1, i) for i in inputs) + b"".join(string(2, o) for o in outputs) +
            (string(3, name) if name else b"") + string(4, op) + attrs)


def model(nodes, name, initializers, inputs, outputs):
    """The bytes of a model (IR 8, opset 13): nodes (node()), initializers (tensor()), inputs and
    outputs as (name, dims) of float tensors."""
    graph = (b"".join(field(1, n) for n in nodes) + string(2, name) +
             b"".join(field(5, t) for t in initializers) +
             b"".join(field(11, value_info(n, d)) for n, d in inputs) +
             b"".join(field(12, value_info(n, d)) for n, d in outputs))
    return integer(1, 8) + field(8, string(1, "") + integer(2, 13)) + field(7, graph)


def constant_model(input_dims, outputs):
    """A model with one float input "image" of input_dims and, for each (name, dims, values) of
    outputs, an output giving those values whatever the input."""
    return model([node("Identity", [name + "_value"], [name], name=name + "_node") for name, _, _ in outputs],
                 "constant", [tensor(name + "_value", dims, values) for name, dims, values in outputs],
                 [("image", input_dims)], [(name, dims) for name, dims, _ in outputs])
