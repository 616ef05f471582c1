import sys

try:
    from .cli import main   # imports MXNet: a second or two in which Ctrl-C can land
except KeyboardInterrupt:
    from .runtime import STOPPED_BEFORE_A_RESULT

    print(STOPPED_BEFORE_A_RESULT, file=sys.stderr)
    sys.exit(130)

sys.exit(main())
