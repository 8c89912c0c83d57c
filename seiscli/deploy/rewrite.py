"""Rewrites of an ONNX graph that compute the same function in operators INT8 kernels cover.

ONNX Runtime's CPU provider has no INT8 transposed convolution: in a static QDQ model every
``ConvTranspose`` is dequantized, run in float and quantized again, with layout transposes around
it. A transposed convolution whose stride equals its kernel (the U-Net's 2x upsampling) has no
overlapping taps, so it is exactly a 1 x 1 convolution to ``k * k`` times the channels followed by
``DepthToSpace``: each input pixel's ``k x k`` output block is one group of channels. Both of those
run in INT8 (``QLinearConv``, and ``DepthToSpace`` moves bytes).
"""

import numpy as np


def transposed_convs_as_depth_to_space(model) -> int:
    """Rewrite, in place, every non-overlapping 2D ``ConvTranspose`` of ``model`` (an ``onnx.ModelProto``)
    as ``Conv`` 1 x 1 + ``DepthToSpace``; returns how many were rewritten."""
    from onnx import helper, numpy_helper

    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    nodes, replaced, rewritten = [], set(), 0
    for node in graph.node:
        block = _block_size(node, initializers)
        if block is None:
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(initializers[node.input[1]])  # (C_in, C_out, k, k)
        c_in, c_out = weight.shape[:2]
        # DepthToSpace "CRD": output (c, y * k + i, x * k + j) reads channel c * k * k + i * k + j
        as_conv = weight.transpose(1, 2, 3, 0).reshape(c_out * block * block, c_in, 1, 1)  # (C_out k k, C_in, 1, 1)
        inputs = [node.input[0], _add_initializer(graph, node.input[1], as_conv)]
        if len(node.input) > 2 and node.input[2]:
            bias = numpy_helper.to_array(initializers[node.input[2]])  # (C_out,)
            inputs.append(_add_initializer(graph, node.input[2], np.repeat(bias, block * block)))
        blocks = f"{node.output[0]}/blocks"
        nodes.append(helper.make_node("Conv", inputs, [blocks], name=f"{node.name}/conv", kernel_shape=[1, 1]))
        nodes.append(helper.make_node("DepthToSpace", [blocks], list(node.output), name=f"{node.name}/depth_to_space",
                                      blocksize=block, mode="CRD"))  # fmt: skip
        replaced.update(node.input[1:])
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    still_used = {name for node in graph.node for name in node.input}
    unused = [t for t in graph.initializer if t.name in replaced and t.name not in still_used]
    for tensor in unused:
        graph.initializer.remove(tensor)
    return rewritten


def _block_size(node, initializers) -> int | None:
    """k when ``node`` is a ConvTranspose with a constant weight, square kernel k = stride, no padding,
    dilation or groups; None otherwise."""
    from onnx import helper

    if node.op_type != "ConvTranspose" or node.input[1] not in initializers:
        return None
    if len(node.input) > 2 and node.input[2] and node.input[2] not in initializers:
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    kernel = list(initializers[node.input[1]].dims[2:])  # weight (C_in, C_out / groups, *kernel)
    plain = (
        len(kernel) == 2
        and kernel[0] == kernel[1]
        and list(attrs.get("strides", [1, 1])) == kernel
        and not any(attrs.get("pads", []))
        and not any(attrs.get("output_padding", []))
        and all(d == 1 for d in attrs.get("dilations", [1, 1]))
        and attrs.get("group", 1) == 1
        and "output_shape" not in attrs
        and attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
    )
    return kernel[0] if plain else None


def _add_initializer(graph, base: str, value: np.ndarray) -> str:
    from onnx import numpy_helper

    name = f"{base}/as_conv"
    graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
    return name
