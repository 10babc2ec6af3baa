"""Recognition quality under the honest LOSO protocol: classical peers and ``bench quality``.

``peers`` (grid-pooled flow + logistic regression, STSTNet), ``data`` (their inputs and the probe's,
through the package's flow cache), ``bench`` (``mer-contrast bench quality``).
"""
