"""Seed 004's program as written (yunjey's pytorch-tutorial, "PyTorch 中级篇(3)"): the baseline.

This is the loop the spec's training code is measured against, so it keeps
the tutorial's costs: torchvision's MNIST converting each image with
`transforms.ToTensor()`, a DataLoader (batch 100, shuffle=True for training,
batch 100 in order for the test), the reshape of every batch, the model's
explicit zero (h0, c0) built on every forward, Adam at 0.01 for 2 epochs, a
loss print every 100 steps, then the test loop under `torch.no_grad()`.

Departures, none of which changes the work done:
- `torch.cuda.set_device(1)` is left out (it fails on a machine with one GPU or none);
- the data folder is a parameter instead of '../../../data/minist/', and
  `download=False` (the caller has verified the files; the seed's `download=True`
  only downloads when they are missing);
- the global seed is set once at the start (the seed sets none), so a run is repeatable;
- prints go through `log`; the final `torch.save(model.state_dict(), 'model.ckpt')` is left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as transforms


@dataclass(frozen=True)
class TutorialResult:
    accuracy: float  # percent of the 10,000 test images
    train_s: float  # datasets, loaders, model and the 2 epochs
    test_s: float


def run_tutorial(
    root: str | Path,
    device: str | torch.device = "cpu",
    num_epochs: int = 2,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> TutorialResult:
    """Run seed 004's script on the MNIST under `root` (holding MNIST/raw/); return its accuracy."""
    torch.manual_seed(seed)
    started = time.perf_counter()
    device = torch.device(device)

    # Hyper-parameters
    sequence_length = 28
    input_size = 28
    hidden_size = 128
    num_layers = 2
    num_classes = 10
    batch_size = 100
    learning_rate = 0.01

    # MNIST dataset
    train_dataset = torchvision.datasets.MNIST(
        root=str(root), train=True, transform=transforms.ToTensor(), download=False
    )
    test_dataset = torchvision.datasets.MNIST(
        root=str(root), train=False, transform=transforms.ToTensor()
    )

    # Data loader
    train_loader = torch.utils.data.DataLoader(
        dataset=train_dataset, batch_size=batch_size, shuffle=True
    )
    test_loader = torch.utils.data.DataLoader(
        dataset=test_dataset, batch_size=batch_size, shuffle=False
    )

    # Recurrent neural network (many-to-one). The seed's forward reads the global
    # `device`; here it is this function's.
    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, num_classes):
            super().__init__()
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
            self.fc = nn.Linear(hidden_size, num_classes)

        def forward(self, x):
            # Set initial hidden and cell states
            h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
            c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)

            # Forward propagate LSTM
            out, _ = self.lstm(x, (h0, c0))  # (batch_size, seq_length, hidden_size)

            # Decode the hidden state of the last time step
            out = self.fc(out[:, -1, :])
            return out

    model = RNN(input_size, hidden_size, num_layers, num_classes).to(device)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    # Train the model
    total_step = len(train_loader)
    loss = torch.tensor(float("nan"))
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            if (i + 1) % 100 == 0:
                log(
                    f"Epoch [{epoch + 1}/{num_epochs}], Step [{i + 1}/{total_step}], "
                    f"Loss: {loss.item():.4f}"
                )
    trained = time.perf_counter()

    # Test the model
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

        accuracy = 100 * correct / total
        log(f"Test Accuracy of the model on the 10000 test images: {accuracy} %")
    return TutorialResult(accuracy, trained - started, time.perf_counter() - trained)
