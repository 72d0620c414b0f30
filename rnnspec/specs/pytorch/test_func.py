"""torch.func over recurrent layers: `vmap` maps a layer over a batch of unbatched sequences.

torch.func.vmap's page promises the vectorized function returns what calling it on each
slice of the mapped dimension and stacking the results would: the model-ensembling and
per-sample-gradient recipes rest on this. The layers take unbatched input, (L, H_in) with a
state (D*num_layers, H_out), so vmap over a leading dimension of such sequences is the plain
use of the promise.
"""

from __future__ import annotations

import pytest
import torch

from rnnspec.ledger import VMAP_RNN_NO_BATCHING_RULE
from rnnspec.modules import CLASSES
from rnnspec.sources import DOCS_VMAP

SEQUENCES, STEPS, FEATURES, HIDDEN = 4, 5, 10, 3
LAYER_TYPES = [pytest.param(info.cls, id=info.class_name) for info in CLASSES]


@pytest.mark.fact(DOCS_VMAP, bug=VMAP_RNN_NO_BATCHING_RULE)
@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_vmap_of_a_layer_over_unbatched_sequences_equals_a_loop(layer_type, known_bug, observe):
    """`torch.func.vmap(lambda x: layer(x)[0])` over a stack of 4 unbatched sequences (5, 10)
    returns the layer's outputs for each sequence run alone, stacked.

    Red where vmap refuses the layer (RuntimeError "Batching rule not implemented for
    aten::gru.input. We could not generate a fallback.", pytorch/pytorch#134606) or where it
    mixes the sequences of the mapped dimension.
    """
    torch.manual_seed(0)
    layer = layer_type(FEATURES, HIDDEN)
    sequences = torch.randn(SEQUENCES, STEPS, FEATURES)
    expected = torch.stack([layer(sequence)[0] for sequence in sequences])
    with known_bug.expected(match="vmap raised"):
        try:
            got = torch.func.vmap(lambda x: layer(x)[0])(sequences)
        except RuntimeError as error:
            observe("error", str(error).splitlines()[0][:300])
            raise AssertionError(f"vmap raised: {str(error).splitlines()[0]}") from None
        torch.testing.assert_close(got, expected)
