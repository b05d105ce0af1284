"""`python -m rapidhttp`: the command line client (prints how to install it without the `cli`
extra)."""

from rapidhttp import main

if __name__ == "__main__":
    main()
