"""Stage 4, analysis: what an embedding learned (neighbours, drift, polarity probes, the intrinsic scores of stage 2 on
the run's spaces), sentence projections, the TensorBoard projector export."""
