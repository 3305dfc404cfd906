"""Load control of a serving process: adaptive batching, admission (shedding) and deadlines."""
