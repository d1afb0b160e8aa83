"""An example of a researcher's own strategy: magnitude scaled by the layer's fan-in."""

from dataclasses import dataclass

from prunebench.strategies import Score, ScoreInputs, Strategy


@dataclass(frozen=True)
class FanInOptions:
    power: float = 0.5  # 0 is global magnitude; 0.5 weighs |w| by the sqrt of its fan-in


def fan_in_scores(inputs: ScoreInputs) -> dict:
    power = inputs.options.power
    return {name: w.detach().abs() * w[0].numel() ** power for name, w in inputs.parameters.items()}


# The score's name is what reports call it (figure colours, the checklist).
strategy = Strategy(Score("fan_in", fan_in_scores), allocation="global", options=FanInOptions)
