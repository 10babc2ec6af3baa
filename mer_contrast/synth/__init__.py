"""Synthetic micro-expression datasets in the real on-disk layouts of CASME II, MMEW and SAMM.

``generate("casme2", Path("data/casme2_synth"))`` writes the annotation sheet (exact header, cell types
and quirks of the real one) and face-like frames whose clips carry small, local AU motions rising
from onset to apex and decaying to offset, so readers, the clip pipeline and training can be tested
end to end without the licence-gated databases. ``mer-contrast synth`` (:mod:`mer_contrast.cli.synth`)
is the CLI.
"""

from mer_contrast.synth.generator import TINY, generate
from mer_contrast.synth.manifest import MANIFEST_NAME, SynthClip, SynthManifest
from mer_contrast.synth.patterns import LAYOUTS, Layout

__all__ = ["LAYOUTS", "MANIFEST_NAME", "TINY", "Layout", "SynthClip", "SynthManifest", "generate"]
