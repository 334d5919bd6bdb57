"""The small lab retrained end to end (tests/e2e: test_label_flow, test_servers): settings for the
quickest retraining that still gives a champion per head."""

from ethoflow.synth.conditions import CONDITIONS

PARAMS = """
seed: 3
ingest: {crop_size: 64}
features: {batch_size: 16}
train:
  architectures: [tcn]
  n_trials: 1
  max_epochs: 3
  patience: 1
  # One stack of two dilations: the smallest TCN, the quickest to trace and train.
  search_space: {window: [16], batch_size: [16], units: [8, 8], layers: [1, 1],
                 dilation_depth: [2, 2], stacks: [1, 1]}
postprocess: {median_frames: 3, min_bout_frames: 2}
label: {arena_side_cm: 40, settle_seconds: 0}  # the test writes the inbox just before
"""
# Two of the lab's set-ups, both 10 fps and small frames, keep the retraining short; the labels
# are then asked of a third, held out.
LAB_CONDITIONS = (CONDITIONS[0], CONDITIONS[2])
