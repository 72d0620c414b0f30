"""The documents a fact can cite: the five seed notes and PyTorch's documentation."""

SEED_000 = "000_fb4a1237d44f2e01.txt"  # DL Wizard RNN on MNIST, Korean notes (ReLU RNN classifier)
SEED_001 = (
    "001_e5f0500a70a97343.txt"  # 모두를 위한 딥러닝 2 Lab 11: character RNN "if you want you"
)
SEED_002 = "002_697fcf824471d8a8.txt"  # LSTM classifier on MNIST, Korean notes (xdim/hdim/ydim)
SEED_003 = "003_cfbfe3c3d6751891.txt"  # nn.RNN / nn.LSTM parameters and shapes, Korean notes
SEED_004 = "004_57c8edae8e30b84a.txt"  # yunjey's LSTM on MNIST, Chinese notes (97.47%)

_DOCS = "https://docs.pytorch.org/docs/stable"
DOCS_RNN = f"{_DOCS}/generated/torch.nn.RNN.html"
DOCS_LSTM = f"{_DOCS}/generated/torch.nn.LSTM.html"
DOCS_GRU = f"{_DOCS}/generated/torch.nn.GRU.html"
DOCS_RNN_CELL = f"{_DOCS}/generated/torch.nn.RNNCell.html"
DOCS_LSTM_CELL = f"{_DOCS}/generated/torch.nn.LSTMCell.html"
DOCS_GRU_CELL = f"{_DOCS}/generated/torch.nn.GRUCell.html"
DOCS_PACK = f"{_DOCS}/generated/torch.nn.utils.rnn.pack_padded_sequence.html"
DOCS_PAD_PACKED = f"{_DOCS}/generated/torch.nn.utils.rnn.pad_packed_sequence.html"
DOCS_LOAD = f"{_DOCS}/generated/torch.load.html"
DOCS_SAVE_LOAD = f"{_DOCS}/notes/serialization.html"
DOCS_AUTOCAST = f"{_DOCS}/amp.html"
DOCS_RANDOMNESS = f"{_DOCS}/notes/randomness.html"
DOCS_CROSS_ENTROPY = f"{_DOCS}/generated/torch.nn.CrossEntropyLoss.html"
DOCS_CUDA_SET_DEVICE = f"{_DOCS}/generated/torch.cuda.set_device.html"
DOCS_MNIST = "https://docs.pytorch.org/vision/stable/generated/torchvision.datasets.MNIST.html"
DOCS_TO_TENSOR = (
    "https://docs.pytorch.org/vision/stable/generated/torchvision.transforms.ToTensor.html"
)
# Pull requests and issues that mark a release boundary or a known limitation of nn.RNN/LSTM/GRU.
_GITHUB = "https://github.com/pytorch/pytorch"
PR_RNN_DTYPE_MESSAGE = f"{_GITHUB}/pull/166946"  # "RNN input dtype (...) does not match", 2.11
PR_RNN_INPUT_SIZE_CHECK = f"{_GITHUB}/pull/166302"  # input_size must be an int > 0, 2.11
PR_RNN_ARGUMENT_TYPES = f"{_GITHUB}/pull/166980"  # bias and batch_first must be bool, 2.11
ISSUE_RNN_BOOL_SIZES = f"{_GITHUB}/issues/105631"  # hidden_size=True passes the int check
# Deployment paths (engineer C): the documentation of each path, and the upstream issues and pull
# requests the deployment facts and the known-bug ledger (rnnspec.ledger) cite.
DOCS_COMPILE = f"{_DOCS}/generated/torch.compile.html"
DOCS_COMPILER_TROUBLESHOOTING = f"{_DOCS}/torch.compiler_troubleshooting.html"
DOCS_EXPORT = f"{_DOCS}/export.html"
DOCS_ONNX = f"{_DOCS}/onnx.html"
DOCS_ONNX_EXPORT = f"{_DOCS}/onnx_export.html"
DOCS_QUANTIZATION = f"{_DOCS}/quantization.html"
DOCS_QUANTIZE_DYNAMIC = f"{_DOCS}/generated/torch.ao.quantization.quantize_dynamic.html"
DOCS_JIT = f"{_DOCS}/jit.html"
DOCS_JIT_SCRIPT = f"{_DOCS}/generated/torch.jit.script.html"
DOCS_JIT_TRACE = f"{_DOCS}/generated/torch.jit.trace.html"
DOCS_UNPAD_SEQUENCE = f"{_DOCS}/generated/torch.nn.utils.rnn.unpad_sequence.html"
ISSUE_DYNAMO_RNN_GRAPH_BREAK = f"{_GITHUB}/issues/171853"  # fullgraph=True refuses RNN/GRU/LSTM
ISSUE_QUANTIZATION_DEPRECATED = f"{_GITHUB}/issues/153892"  # torch.ao.quantization deprecated
# Release boundaries of nn.RNN/LSTM/GRU's argument and input checks before 2.5, found by running
# torch 2.0.1, 2.1.2, 2.2.2, 2.3.1 and 2.4.1 on both sides of each (issue 11).
PR_RNN_INPUT_DTYPE_CHECK = f"{_GITHUB}/pull/100100"  # ValueError for an input dtype mismatch, 2.1
PR_RNN_RANK_VALUE_ERROR = f"{_GITHUB}/pull/105127"  # ValueError, not AssertionError, for rank, 2.1
PR_RNN_HIDDEN_SIZE_CHECK = f"{_GITHUB}/pull/105659"  # hidden_size must be an int > 0, 2.1
PR_RNN_NUM_LAYERS_CHECK = f"{_GITHUB}/pull/108853"  # num_layers must be > 0, 2.2
