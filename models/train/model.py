"""The models: QualityPredictor (= QualityHead(QualityEncoder(image, size), params)) and LogoClassifier.

Shapes (N is the dynamic batch in every exported graph):

* `QualityEncoder`: image [N, 3, 224, 224] (core preprocessing), stats [N, 11]
  (`vectune_core::preprocess::image_stats`: size + full-resolution image statistics) -> embedding [N, D]
* `QualityHead`: embedding [N, D], params [N, 8] (`Params::encode`) -> ssim [N, 1] in (0, 1)
* `QualityPredictor`: image, params, stats -> ssim; exactly head(encoder(image, stats), params), so
  a server can run the encoder once per image and the head once per candidate parameter set.

Two quality heads (config key `head`, `HEADS`):

* "pooled" (models up to v3): an MLP on the pooled embedding and the parameters; D = embed_dim.
* "spatial" (run v6, shipped): the encoder also emits a 1x1-conv projection of one backbone map
  (`map_layer`: -1 the last, 7x7; -3 the 14x14 one, v6), `map_channels` channels (v6: 32), flattened;
  the head lets the parameters scale and shift each channel (FiLM) before global average + max pooling,
  beside the pooled embedding: the parameters' effect can depend on *where* the detail is.
  D = embed_dim + map_channels * S * S. A config without these keys gets 64 channels on the 7x7 map
  (run v5's layout); train.py always records them.
Either head can also see each parameter piecewise-linearly encoded (config key `param_bins`, K): x and
clamp(x K - k, 0, 1) for k < K, a basis in which a linear layer makes any piecewise-linear function of x
with knots at k / K (sharp steps such as `path_precision` 0 vs 1 come easily); 0 = the raw values only.

* `LogoClassifier`: image -> logits [N, 4] over `data.LOGO_CLASSES`.

The CNN is small on purpose (CPU training and browser inference): a stem to 56 px (`STEMS`: a 2x
average pool + a 3x3 stride-2 conv, or one 6x6 stride-4 conv), four 3x3 conv + BatchNorm + ReLU blocks
(three with stride 2), then global average and max pooling.
"""
from __future__ import annotations

import torch
from torch import nn

from data import IMAGE_STATS, INPUT_SIZE, LOGO_CLASSES, PARAM_COUNT

DEFAULT_WIDTHS = (16, 32, 64, 96, 128)


def conv_block(cin: int, cout: int, stride: int, kernel: int = 3, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


#: The backbone's first stage (224 -> 56), a model config key (`stem`):
#: "pool": a 2x2 average pool, then a 3x3 stride-2 conv (models up to v3);
#: "conv6s4": one 6x6 stride-4 conv on the whole 224 view. The same receptive field, and a superset of
#: "pool" (pool + 3x3/2 conv is a 6x6/4 conv with tied weights), but no blur: small logos keep their
#: pixels, and tract skips its slow average pool.
STEMS = ("pool", "conv6s4")


class Backbone(nn.Module):
    """image [N, 3, 224, 224] -> pooled features [N, 2 * widths[-1]] (global avg ++ global max)."""

    def __init__(self, widths=DEFAULT_WIDTHS, stem: str = "pool"):
        super().__init__()
        if stem == "pool":
            layers = [nn.AvgPool2d(2), conv_block(3, widths[0], stride=2)]  # 224 -> 112 -> 56
        elif stem == "conv6s4":
            layers = [conv_block(3, widths[0], stride=4, kernel=6, padding=2)]  # 224 -> 56
        else:
            raise ValueError(f"unknown stem {stem!r}; one of {STEMS}")
        cin = widths[0]
        for i, w in enumerate(widths[1:], start=1):
            layers.append(conv_block(cin, w, stride=2 if i < len(widths) - 1 else 1))
            cin = w
        self.features = nn.Sequential(*layers)  # 56 -> 28 -> 14 -> 7 -> 7
        self.out_dim = 2 * cin

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return global_pool(self.features(image))


def global_pool(f: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, 2C]: global average ++ global max."""
    return torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)


#: The quality head's kinds (module docstring), a model config key (`head`).
HEADS = ("pooled", "spatial")
#: The backbone's last feature map is MAP_SIZE x MAP_SIZE for the 224 view (224 / 32).
MAP_SIZE = 7


def layer_shapes(backbone: "Backbone") -> list[tuple[int, int]]:
    """(channels, side) of each backbone layer's output for the 224 view."""
    x, out = torch.zeros(1, 3, 224, 224), []
    mode = backbone.training
    backbone.eval()  # a training-mode pass would move BatchNorm's running statistics
    with torch.no_grad():
        for layer in backbone.features:
            x = layer(x)
            out.append((x.shape[1], x.shape[2]))
    backbone.train(mode)
    return out


class QualityEncoder(nn.Module):
    """image [N, 3, 224, 224], stats [N, 11] -> embedding [N, D].

    The statistics are standardised inside the graph (mean/std of the training images, stored as
    buffers, so they travel with the exported model) and pass through a small MLP beside the CNN.
    """

    def __init__(self, embed_dim: int = 96, widths=DEFAULT_WIDTHS, stats_mean=None, stats_std=None,
                 stats_hidden: int = 32, stem: str = "pool", map_channels: int = 0, map_layer: int = -1):
        super().__init__()
        self.backbone = Backbone(widths, stem)
        self.embed_dim = embed_dim
        self.map_channels = map_channels
        # the spatial head's map: a 1x1 projection of one layer's output (the last by default), flattened
        shapes = layer_shapes(self.backbone)
        self.map_index = map_layer % len(shapes)
        map_in, self.map_size = shapes[self.map_index]
        #: the embedding's width D (the split form's `embedding` input)
        self.out_dim = embed_dim + map_channels * self.map_size * self.map_size
        self.map = (nn.Sequential(nn.Conv2d(map_in, map_channels, 1), nn.BatchNorm2d(map_channels))
                    if map_channels else None)
        mean = torch.zeros(IMAGE_STATS) if stats_mean is None else torch.tensor(stats_mean, dtype=torch.float32)
        std = torch.ones(IMAGE_STATS) if stats_std is None else torch.tensor(stats_std, dtype=torch.float32)
        self.register_buffer("stats_mean", mean)
        self.register_buffer("stats_inv_std", 1.0 / torch.clamp(std, min=1e-6))
        self.stats_mlp = nn.Sequential(nn.Linear(IMAGE_STATS, stats_hidden), nn.ReLU(inplace=True))
        self.proj = nn.Sequential(
            nn.Linear(self.backbone.out_dim + stats_hidden + IMAGE_STATS, embed_dim), nn.ReLU(inplace=True))

    def forward(self, image: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        z = (stats - self.stats_mean) * self.stats_inv_std
        if self.map is None:
            fmap = self.backbone.features(image)
            return self.proj(torch.cat([global_pool(fmap), self.stats_mlp(z), z], dim=1))
        fmap = image
        for i, layer in enumerate(self.backbone.features):
            fmap = layer(fmap)
            if i == self.map_index:
                tapped = fmap
        emb = self.proj(torch.cat([global_pool(fmap), self.stats_mlp(z), z], dim=1))
        return torch.cat([emb, self.map(tapped).flatten(1)], dim=1)


class QualityHead(nn.Module):
    #: export.py exports the head with `embedding` [1, D]: one image's embedding for all its parameter sets
    #: (vectune_core::manifest::ModelEntry::shares_embedding), not one copy per set
    shares_embedding = True

    """embedding [N, D] (or [1, D]: one image's, for all its parameter sets), params [N, 8] -> ssim [N, 1] (sigmoid).

    With `map_channels`, the embedding's tail is the encoder's flattened map: the parameters set a
    per-channel scale (1 + gamma, gamma starting at 0) and shift, then ReLU and global pooling."""

    def __init__(self, embed_dim: int = 96, hidden: int = 128, init_mean: float = 0.9, map_channels: int = 0,
                 film_hidden: int = 64, map_size: int = MAP_SIZE, param_bins: int = 0,
                 film_embedding: bool = False):
        super().__init__()
        self.embed_dim = embed_dim
        # piecewise-linear encoding of each parameter (`param_bins` equal bins of [0, 1]) beside its value
        self.param_bins = param_bins
        self.register_buffer("bin_starts", torch.arange(param_bins, dtype=torch.float32), persistent=False)
        n_par = PARAM_COUNT * (1 + param_bins)
        self.map_channels = map_channels
        self.map_size = map_size
        self.film = None
        # the FiLM sees the parameters, and with `film_embedding` the image embedding too (its size, colours...)
        self.film_embedding = film_embedding
        if map_channels:
            film_in = n_par + (embed_dim if film_embedding else 0)
            self.film = nn.Sequential(nn.Linear(film_in, film_hidden), nn.ReLU(inplace=True),
                                      nn.Linear(film_hidden, 2 * map_channels))
            nn.init.zeros_(self.film[-1].weight)
            nn.init.zeros_(self.film[-1].bias)
        self.net = nn.Sequential(
            nn.Linear(embed_dim + 2 * map_channels + n_par, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden // 2), nn.ReLU(inplace=True),
            nn.Linear(hidden // 2, 1),
        )
        # start at the training mean: the logit of the mean SSIM
        init_mean = min(max(init_mean, 1e-3), 1 - 1e-3)
        with torch.no_grad():
            self.net[-1].bias.fill_(float(torch.logit(torch.tensor(init_mean))))

    def encode_params(self, params: torch.Tensor) -> torch.Tensor:
        """params [N, 8] -> [N, 8 (1 + bins)]: each value, then its bins' fill levels clamp(x bins - k, 0, 1)."""
        if not self.param_bins:
            return params
        ple = torch.clamp(params[:, :, None] * self.param_bins - self.bin_starts, 0.0, 1.0)
        return torch.cat([params, ple.flatten(1)], dim=1)

    def forward(self, embedding: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return self.forward_at(embedding, params, 0)

    def forward_at(self, embedding: torch.Tensor, params: torch.Tensor, offset: int) -> torch.Tensor:
        """The head on the columns `offset..offset + D` of `embedding` (an ensemble's member reads its own part
        of the embedding directly: one copy of its map, not two). `embedding` has one row per parameter set, or
        one row for all of them (broadcast: one image's parameter sets, as the exported head takes it)."""
        params = self.encode_params(params)
        width = self.embed_dim + self.map_channels * self.map_size * self.map_size
        if self.film is None:
            own = embedding if offset == 0 and embedding.shape[1] == width else embedding[:, offset:offset + width]
            return torch.sigmoid(self.net(torch.cat([own.expand(params.shape[0], -1), params], dim=1)))
        emb = embedding[:, offset:offset + self.embed_dim].expand(params.shape[0], -1)
        m = embedding[:, offset + self.embed_dim:offset + width]
        film_in = torch.cat([emb, params], dim=1) if self.film_embedding else params
        gamma, beta = self.film(film_in).chunk(2, dim=1)
        if m.shape[0] == 1 and params.shape[0] != 1:
            # one image's map for all N parameter sets (the exported head; export.py traces it so): per channel, the
            # N scaled copies are an outer product, [C, N, 1] x [C, 1, H W], a batched matrix product that tract and
            # ONNX Runtime run fast (tract's broadcast of [1, C, H, W] x [N, C, 1, 1] took 3x as long); the same
            # function as below, pooled over the last axis
            scale = 1 + gamma
            mc = m.reshape(self.map_channels, -1)
            h = torch.relu(torch.matmul(scale.t().unsqueeze(-1), mc.unsqueeze(1)) + beta.t().unsqueeze(-1))
            # the max needs no pass over h: x -> scale x + beta is monotonic (in floating point too), so the largest
            # value is at the channel's largest value (scale >= 0) or its smallest (scale < 0): exactly equal
            peak = torch.relu(torch.maximum(scale * mc.amax(dim=1), scale * mc.amin(dim=1)) + beta)
            pooled = torch.cat([h.mean(dim=2).t(), peak], dim=1)
        else:
            # reshape with -1 (a constant shape in the graph, not one computed from N)
            m = m.reshape(-1, self.map_channels, self.map_size, self.map_size)
            h = torch.relu(m * (1 + gamma[:, :, None, None]) + beta[:, :, None, None])
            pooled = global_pool(h)
        return torch.sigmoid(self.net(torch.cat([emb, pooled, params], dim=1)))


class QualityPredictor(nn.Module):
    """image, params, stats -> ssim [N, 1]; `forward_rows` shares one encoder pass over many rows."""

    def __init__(self, embed_dim: int = 96, widths=DEFAULT_WIDTHS, hidden: int = 128, init_mean: float = 0.9,
                 stats_mean=None, stats_std=None, stem: str = "pool", map_channels: int = 0, map_layer: int = -1,
                 param_bins: int = 0, film_embedding: bool = False):
        super().__init__()
        self.encoder = QualityEncoder(embed_dim, widths, stats_mean, stats_std, stem=stem, map_channels=map_channels,
                                      map_layer=map_layer)
        self.head = QualityHead(embed_dim, hidden, init_mean, map_channels, map_size=self.encoder.map_size,
                                param_bins=param_bins, film_embedding=film_embedding)

    def forward(self, image: torch.Tensor, params: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(image, stats), params)

    def forward_rows(self, image, stats, params, row_image) -> torch.Tensor:
        """Training form: image/stats [B, ...] once, params [R, 8] with row_image [R] -> ssim [R]."""
        emb = self.encoder(image, stats)
        return self.head(emb[row_image], params)[:, 0]


#: Test-time views (`with_tta`; evaluate.py/export.py `--tta`): the prediction is the mean over the image and these
#: views of it. Only views the model trained on: `hflip` (the default training augmentation) adds the mirror image.
TTA_VIEWS = ("none", "hflip")


class FlipEncoder(nn.Module):
    """The encoder on the image and on its mirror image, as one batch: embedding [N, 2D] (the two side by side)."""

    def __init__(self, encoder: QualityEncoder):
        super().__init__()
        self.inner = encoder
        self.embed_dim = encoder.embed_dim
        self.map_channels = encoder.map_channels
        self.map_size = encoder.map_size
        self.stats_mean = encoder.stats_mean
        self.stats_inv_std = encoder.stats_inv_std
        self.out_dim = 2 * encoder.out_dim
        self.register_buffer("reverse", torch.arange(INPUT_SIZE - 1, -1, -1), persistent=False)

    def forward(self, image: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        # a Gather over the columns (torch.flip exports as Slice with step -1; not measured against it)
        mirror = torch.index_select(image, 3, self.reverse)
        both = self.inner(torch.cat([image, mirror], dim=0), torch.cat([stats, stats], dim=0))
        # [2N, D] (the N images, then their N mirrors) -> [N, 2D]; reshapes with -1, not slices of a computed N
        # (tract's shape inference could not unify those with the batch symbol)
        return both.reshape(2, -1, self.inner.out_dim).transpose(0, 1).reshape(-1, self.out_dim)


class MeanHead(nn.Module):
    """The head on each half of a `FlipEncoder` embedding, as one batch; the mean of the two predictions."""

    #: one embedding row per parameter set (its rows are reshaped per view)
    shares_embedding = False

    def __init__(self, head: QualityHead, inner_dim: int):
        super().__init__()
        self.inner = head
        self.inner_dim = inner_dim

    def forward(self, embedding: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        # reshape with -1, not from N: [N, 2D] -> [2N, D] rows (plain, mirror) per image, then back
        rows = embedding.reshape(-1, self.inner_dim)
        ssim = self.inner(rows, torch.cat([params[:, None, :], params[:, None, :]], dim=1).reshape(-1, PARAM_COUNT))
        return ssim.reshape(-1, 2).mean(dim=1, keepdim=True)


def with_tta(model: QualityPredictor, tta: str) -> QualityPredictor:
    """`model` with its test-time views (TTA_VIEWS): the same encoder/head split, so the exports stay split."""
    if tta not in TTA_VIEWS:
        raise ValueError(f"unknown tta {tta!r}; one of {TTA_VIEWS}")
    if tta == "hflip":
        inner_dim = model.encoder.out_dim
        model.encoder = FlipEncoder(model.encoder)
        model.head = MeanHead(model.head, inner_dim)
    return model


class EnsembleEncoder(nn.Module):
    """Several runs' encoders on the same inputs: embedding [N, D1 + D2 + ...] (theirs, side by side)."""

    def __init__(self, encoders):
        super().__init__()
        self.members = nn.ModuleList(encoders)
        # the first member's statistics (export.py draws plausible example inputs from them)
        self.stats_mean = encoders[0].stats_mean
        self.stats_inv_std = encoders[0].stats_inv_std
        self.dims = [e.out_dim for e in encoders]
        self.out_dim = sum(self.dims)

    def forward(self, image: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        return torch.cat([e(image, stats) for e in self.members], dim=1)


class EnsembleHead(nn.Module):
    """Each member's head on its columns of an `EnsembleEncoder` embedding; the mean of their predictions."""

    shares_embedding = True

    def __init__(self, heads, dims):
        super().__init__()
        self.members = nn.ModuleList(heads)
        self.bounds = [(sum(dims[:i]), sum(dims[:i + 1])) for i in range(len(dims))]

    def forward(self, embedding: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        # each member reads its constant columns itself (the batch stays symbolic)
        preds = [h.forward_at(embedding, params, a) for h, (a, _) in zip(self.members, self.bounds)]
        return torch.stack(preds, dim=0).mean(dim=0)


def ensemble(models: list) -> QualityPredictor:
    """The mean of several quality models' predictions, in the same encoder/head split (the exports stay split).
    One model is returned as it is."""
    if len(models) == 1:
        return models[0]
    out = models[0]
    enc = EnsembleEncoder([m.encoder for m in models])
    out.head = EnsembleHead([m.head for m in models], enc.dims)
    out.encoder = enc
    return out


#: How the weights are stored (evaluate.py/export.py `--weights`). "float16": every conv's BatchNorm folded into
#: it, then every parameter rounded to float16, so that the ONNX files can store them in half the bytes
#: (export.half_initializers) while every format computes in float32 with the same, exactly representable values.
WEIGHT_FORMATS = ("float32", "float16")


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Folds each eval-mode BatchNorm2d into the Conv2d just before it, in every nn.Sequential (in place)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv2d) and isinstance(seq[i + 1], nn.BatchNorm2d):
                seq[i] = fuse_conv_bn_eval(seq[i].eval(), seq[i + 1].eval())
                seq[i + 1] = nn.Identity()
    return model


def with_weights(model: nn.Module, weights: str) -> nn.Module:
    """`model` (in eval mode) with its weights stored as `weights` (WEIGHT_FORMATS)."""
    if weights not in WEIGHT_FORMATS:
        raise ValueError(f"unknown weights {weights!r}; one of {WEIGHT_FORMATS}")
    if weights == "float16":
        fold_batchnorm(model.eval())
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    return model


class LogoClassifier(nn.Module):
    """image [N, 3, 224, 224] -> logits [N, 4] over LOGO_CLASSES."""

    def __init__(self, widths=DEFAULT_WIDTHS, hidden: int = 64):
        super().__init__()
        self.backbone = Backbone(widths)
        self.head = nn.Sequential(
            nn.Dropout(0.2), nn.Linear(self.backbone.out_dim, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, len(LOGO_CLASSES)),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(image))


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def build_quality(cfg: dict) -> QualityPredictor:
    head = cfg.get("head", "pooled")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; one of {HEADS}")
    return QualityPredictor(cfg.get("embed_dim", 96), tuple(cfg.get("widths", DEFAULT_WIDTHS)),
                            cfg.get("hidden", 128), cfg.get("init_mean", 0.9),
                            cfg.get("stats_mean"), cfg.get("stats_std"), cfg.get("stem", "pool"),
                            cfg.get("map_channels", 64) if head == "spatial" else 0, cfg.get("map_layer", -1),
                            cfg.get("param_bins", 0), cfg.get("film_embedding", False))


def build_classifier(cfg: dict) -> LogoClassifier:
    return LogoClassifier(tuple(cfg.get("widths", DEFAULT_WIDTHS)), cfg.get("hidden", 64))
