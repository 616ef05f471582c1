import sys

try:
    from .cli import main   # imports MXNet: a second or two in which Ctrl-C can land
except KeyboardInterrupt:
    print("interrupted before a result; the output was not written", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
