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
