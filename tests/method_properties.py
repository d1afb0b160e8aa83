"""Methods' declared properties as the aggregate config carries them (``strategies``), for the
reporting tests: what the resolve stage writes from each strategy object."""


def parts(score, allocation="global", structure="unstructured", schedule="one_shot"):
    """One method's declared properties, as in the aggregate config's ``strategies``."""
    return {"score": score, "allocation": allocation, "structure": structure,
            "schedule": schedule, "options": {}}  # fmt: skip


PROPERTIES = {
    "lamp": parts("lamp"),
    "random": parts("random"),
    "global_mag": parts("magnitude"),
    "layer_mag": parts("magnitude", "layerwise"),
    "global_grad": parts("gradient"),
    "layer_grad": parts("gradient", "layerwise"),
    "imp": parts("magnitude", schedule="iterative"),
    "gmp": parts("magnitude", schedule="gradual"),
    "random_channel": parts("random", structure="channel"),
    "global_channel_l1": parts("channel_l1", structure="channel"),
    "layer_channel_l1": parts("channel_l1", "layerwise", structure="channel"),
    "matched_random": parts("random", "matched"),
    "matched_mag": parts("magnitude", "matched"),
    "matched_grad": parts("gradient", "matched"),
}
