"""Shared by the experiments: a dataset's train + val images and a run's frozen encoder embeddings."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import data  # noqa: E402
import metrics  # noqa: E402
from model import build_quality  # noqa: E402


def load(data_dir, run_dir, threads=2):
    """(dataset, quality model, embeddings [images, D]) for the train and val images of `data_dir`."""
    torch.set_num_threads(threads)
    ds = data.load_dataset(data_dir, splits=('train', 'val'))
    cache = data.image_cache(ds)
    ck = torch.load(f'{run_dir}/quality.pt', weights_only=False)
    model = build_quality(ck['config'])
    model.load_state_dict(ck['state_dict'])
    model.eval()
    imgs = np.concatenate([ds.images_where('train'), ds.images_where('val')])
    emb = np.zeros((len(ds.image_ids), ck['config']['embed_dim']), np.float32)
    with torch.no_grad():
        stats = torch.from_numpy(ds.stats)
        for s in range(0, len(imgs), 64):
            b = imgs[s:s + 64]
            emb[b] = model.encoder(metrics.batch_images(cache, b), stats[b]).numpy()
    return ds, model, emb
