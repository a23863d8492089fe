"""Reads an rnnlab event file with TensorBoard's own loader and prints what it found as JSON.
Exit code 3 when tensorboard is not installed (the Swift test then skips)."""
import json, sys
try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
except ImportError:
    sys.exit(3)
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "histograms": 0})
acc.Reload()
tags = acc.Tags()
out = {"scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
       "histograms": {t: [[e.step, e.histogram_value.num, e.histogram_value.min, e.histogram_value.max,
                           list(e.histogram_value.bucket)] for e in acc.Histograms(t)] for t in tags["histograms"]}}
print(json.dumps(out))
