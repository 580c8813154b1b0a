"""Independent NumPy float64 reference implementations used as oracles.

Nothing here calls fastprims. Families keep their references in
tests/_ref_<family>.py (activation: tests/_ref_activation.py).
"""
