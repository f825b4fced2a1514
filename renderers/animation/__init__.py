"""Backward animations: the frame model, its layout, SVG frames, the GIF, the HTML stepper."""
