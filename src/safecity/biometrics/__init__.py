"""Face matching under lawful authorization, with accountability enforced in code (DESIGN.md).

`authorizations`, `watchlists` (G1, G7), `thresholds` (G11), `matches` (G5, G9), `stage` (the per-camera
face step; G8), `search` (G3), `transparency` (G6); every action audited (G12). Import-light: the settings
tree imports `safecity.biometrics.config`.
"""
