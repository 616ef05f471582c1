import sys

from .cli import main   # a Ctrl-C while this imports MXNet: see gluon_style/__init__.py

sys.exit(main())
