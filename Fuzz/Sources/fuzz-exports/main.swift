import FuzzSupport

// Loaded before the first input: a lazy global first touched inside a run counts as that run's leak.
_ = shapes
fuzz { fuzzExports($0, $1) }
