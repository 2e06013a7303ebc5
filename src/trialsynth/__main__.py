"""``python -m trialsynth`` runs the command line."""

from trialsynth.cli.main import main

raise SystemExit(main())
