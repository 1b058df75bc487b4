"""The four example models of robustc (PyTorch definitions).

All take input [batch, 1, 28, 28] (pixels / 255) and return raw logits [batch, 10].
"""
import torch
import torch.nn as nn


class MnistMLP(nn.Module):
    """784-100-100-10 with ReLUs. nn.Flatten exports as ONNX Flatten."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 100), nn.ReLU(),
            nn.Linear(100, 100), nn.ReLU(),
            nn.Linear(100, 10),
        )

    def forward(self, x):
        return self.net(x)


class MnistLeNet(nn.Module):
    """LeNet (Bastani et al. 2016) with ReLUs:
    conv 20@5x5 -> ReLU -> maxpool 2 -> conv 50@5x5 -> ReLU -> maxpool 2
    -> flatten -> fc 500 -> ReLU -> fc 10.

    The flatten is deliberately ``x.view(x.size(0), -1)`` so that the exporter
    emits the Shape/Gather/Unsqueeze/Concat/Reshape glue chain that the
    compiler must constant-fold.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(50 * 4 * 4, 500)
        self.fc2 = nn.Linear(500, 10)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = x.view(x.size(0), -1)
        x = self.relu(self.fc1(x))
        return self.fc2(x)


class MnistLeNetCaffe(nn.Module):
    """The paper's LeNet as Caffe defines it (examples/mnist/lenet_train_test.prototxt):
    conv 20@5x5 -> maxpool 2 -> conv 50@5x5 -> maxpool 2 -> fc 500 -> ReLU -> fc 10.
    One ReLU layer; the max-pools sit straight on the convolutions' outputs. Trained by
    train_caffe_lenet.py with Caffe's solver (lenet_solver.prototxt).
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.pool = nn.MaxPool2d(2)
        self.ip1 = nn.Linear(50 * 4 * 4, 500)
        self.ip2 = nn.Linear(500, 10)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()

    def forward(self, x):
        x = self.pool(self.conv1(x))
        x = self.pool(self.conv2(x))
        x = self.relu(self.ip1(self.flatten(x)))
        return self.ip2(x)


class MnistCnnBn(nn.Module):
    """Small CNN with BatchNorm and one residual block:
    conv 8@3x3 pad 1 -> BN -> ReLU -> AvgPool 2
    -> [conv 8@3x3 pad 1 -> BN -> ReLU -> conv 8@3x3 pad 1 -> BN] + skip -> ReLU
    -> AvgPool 2 -> flatten -> fc 64 -> ReLU -> fc 10.
    """

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn0 = nn.BatchNorm2d(8)
        self.pool = nn.AvgPool2d(2)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(8 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(self.relu(self.bn0(self.conv0(x))))
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        x = self.relu(h + x)
        x = self.pool(x)
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        return self.fc2(x)


class MnistNIN(nn.Module):
    """Network-in-network style, small:
    conv 16@5x5 -> ReLU -> conv 16@1x1 -> ReLU -> maxpool 2
    -> conv 32@3x3 -> ReLU -> conv 32@1x1 -> ReLU -> maxpool 2
    -> conv 32@3x3 -> ReLU -> conv 10@1x1 -> GlobalAveragePool -> flatten.

    Spatial sizes: 28 -> 24 -> 12 -> 10 -> 5 -> 3 -> (GAP) 1. The extra
    3x3 conv before the 10-channel 1x1 conv widens the receptive field seen
    by the global average pool (without it the net trains to only ~90%).
    nn.AdaptiveAvgPool2d(1) exports as ONNX GlobalAveragePool.
    """

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 5), nn.ReLU(),
            nn.Conv2d(16, 16, 1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3), nn.ReLU(),
            nn.Conv2d(32, 32, 1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3), nn.ReLU(),
            nn.Conv2d(32, 10, 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )

    def forward(self, x):
        return self.net(x)


MODELS = {
    "mnist_mlp": MnistMLP,
    "mnist_lenet": MnistLeNet,
    "mnist_lenet_caffe": MnistLeNetCaffe,
    "mnist_cnn_bn": MnistCnnBn,
    "mnist_nin": MnistNIN,
}

# Default number of training epochs per model (see train.py for the recipe).
EPOCHS = {
    "mnist_mlp": 30,
    "mnist_lenet": 15,
    "mnist_cnn_bn": 20,
    "mnist_nin": 30,
}
