# Signed firmware updates (docs/update.md): what a release is and how its signatures are checked
# (release.py), the two update slots in flash (slots.py), and the boot step that starts the
# newest good one (boot.py). The vendor keys are fixed in each build (keys.py).
