import sys

from benchmarks.run import main

if __name__ == "__main__":  # `import mesa` selects "spawn": children re-import this module
    sys.exit(main())
