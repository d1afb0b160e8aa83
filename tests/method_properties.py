"""Methods' declared properties as the aggregate config carries them (``methods``), for the
reporting tests: read from the strategy registry the way the resolve stage reads them, so they
cannot drift from what the strategies declare."""

from prunebench.pipeline.params import method_options, parse_params
from prunebench.pipeline.resolve import method_properties
from prunebench.strategies import STRATEGIES
from prunebench.strategies.matched import MATCHED_CONTROLS


def parts(score, allocation="global", structure="unstructured", schedule="one_shot", **options):
    """One method's declared properties, as in the aggregate config's ``methods``: for
    methods the registry does not hold (external ones, or test-only variants)."""
    return {
        "score": score,
        "allocation": allocation,
        "structure": structure,
        "schedule": schedule,
        "options": options,
    }


def registered_properties() -> dict[str, dict]:
    """Every registered strategy's and matched control's properties, with default options."""
    strategies = STRATEGIES.names()
    params = parse_params(
        {
            "benchmark": "fashion_mnist_sample_lenet5",
            "strategy": strategies[0],
            "baselines": strategies[1:],
            "matched_controls": MATCHED_CONTROLS.names(),
            "compressions": [2],
            "seeds": [0],
        }
    )
    properties = method_properties(params, method_options(params))
    return {name: declared.to_json() for name, declared in properties.items()}


# Test-only: a matched control scored by gradient, which the registry does not have, for tests
# of how reporting draws and names a matched control it has not seen.
TEST_ONLY = {"matched_grad": parts("gradient", "matched")}

PROPERTIES = registered_properties() | TEST_ONLY
