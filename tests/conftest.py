import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from qreport import backend  # noqa: E402

# The tests build and run models in process: TensorFlow, its banner silenced once.
# The numpy backend is tested in subprocesses (test_backends.py).
backend.use("tensorflow")
backend.import_keras()

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = ["jet_mlp", "cnn", "conv1d"]


@pytest.fixture(scope="session")
def example_paths():
    return {e: os.path.join(ROOT, "examples", "models", f"{e}.keras") for e in EXAMPLES}


def set_weights(model, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([rng.normal(0, scale, w.shape).astype("float32") if w.ndim
                               else w for w in ws])
    return model
