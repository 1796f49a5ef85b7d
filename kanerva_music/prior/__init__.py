"""An orderless inpainting network over chorale episodes (Coconet; docs/dkm.md, "The prior")."""
