"""Tools that build and check the site; not part of the ``medai_lessons`` wheel.

The package (``src/medai_lessons``) holds what a reader imports in a notebook. Everything
here only turns the pages into a website, notebooks and tests:

=====================  ===============================================================
module                 job
=====================  ===============================================================
``site_tools.env``     the site's languages and the offline environment (defined once)
``site_tools.pages``   the one Markdown reader: Sybil's parsers + ``doctest.DocTestParser``
``site_tools.config``  ``mkdocs.yml`` through MkDocs' own loader
``site_tools.notebooks``  a lesson page -> a Jupyter notebook
``site_tools.figures`` render the package's figure functions to files, cached on disk
``site_tools.katex``   vendor KaTeX from ``node_modules`` (``npm ci`` on the lockfile)
``site_tools.bench_tables``  ``benchmarks/results/*.json`` -> Markdown tables
``site_tools.glossary``  the glossary data (``glossary.toml``) and its tables
``site_tools.examples``  run one page's examples (the serve-mode warning banner)
``site_tools.explorer_data``  the DDPM page's explorers: their data from the package, cached
=====================  ===============================================================

The MkDocs hooks in ``hooks/``, the tests and ``scripts/`` import it from the repository
root (hooks put the root on ``sys.path``; pytest does through ``pythonpath``).
"""
