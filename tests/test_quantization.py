"""Grouping graph nodes into modules for int8 quantisation (the graph itself is tested in test_runtime)."""

from vla.export.quantization import module_group

PREFIX = "vla.export.graph.PolicyGraph/model: vla.models.modeling_vla.VLAModel/"


def test_module_group_is_the_transformer_layer_or_the_deepest_module():
    layer = (
        PREFIX + "model.backbone.vision_model: SmolVLMVisionTransformer/model.backbone.vision_model.encoder: "
        "SmolVLMEncoder/model.backbone.vision_model.encoder.layers.1: SmolVLMEncoderLayer/"
        "model.backbone.vision_model.encoder.layers.1.mlp.fc1: Linear/linear_7: aten.linear.default"
    )
    assert module_group(layer) == "model.backbone.vision_model.encoder.layers.1"
    state = PREFIX + "model.state_proj: torch.nn.modules.linear.Linear/linear_26: aten.linear.default"
    assert module_group(state) == "model.state_proj"
    assert module_group("vla.export.graph.PolicyGraph/matmul_17: aten.matmul.default") == "decoding"
    assert module_group("") == "decoding"
