"""Reference fixtures for the Vision and checkpoint-reader tests, made with torch, torchvision and PIL.
Run: python generate.py SKIMAGE_WHEEL   (needs torch, torchvision, pillow, numpy)
- resnet18_reference.json: torchvision resnet18 with deterministic "seeded" weights (SplitMix64 of the
  parameter's index and element index, the same generator as ResNet18.seededStateDict in Swift), eval mode,
  on a deterministic 64x64 input; its 512 pooled features and 1000 logits.
- resnet18_photo_top5.json: the same seeded resnet18 on photo.png through torchvision's Resize(256),
  CenterCrop(224), ToTensor, Normalize(ImageNet): top-5 class indices and softmax probabilities.
- photo.png (a 96x64 crop of scikit-image's chelsea.png), photo.jpg (the same, JPEG quality 90),
  photo_jpg_decoded.png (PIL's decoding of photo.jpg), photo_resized.png (PIL Resize(40) + CenterCrop(32)).
- tiny_zip.pth / tiny_legacy.pth: a small state dict in both torch.save formats; tiny_expected.json its values.
- evil.pth: a pickle that would call os.system; the reader must refuse it.
"""
import io, json, sys, zipfile, collections
import numpy as np, torch, torchvision
from PIL import Image

MASK = (1 << 64) - 1
def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)

def uniform(seed, n):
    """n values in [-1, 1): (splitmix(seed * 2^32 + i) >> 11) * 2^-53 * 2 - 1, vectorised with uint64 wrap-around."""
    i = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (np.uint64(seed) << np.uint64(32)) + i
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53 * 2 - 1

def seeded_value(name, shape, index):
    n = int(np.prod(shape)) if len(shape) else 1
    u = uniform(index + 1, n)
    if name.endswith("running_var"): v = 1 + 0.5 * u
    elif name.endswith("running_mean") or name.endswith("bias"): v = 0.1 * u
    elif len(shape) == 1: v = 1 + 0.5 * u                                  # BN weight
    else:
        fan_in = int(np.prod(shape[1:]))
        v = u * np.sqrt(3.0) * np.sqrt(2.0 / fan_in)                       # He-uniform
    return torch.tensor(v.astype(np.float32).reshape(shape))

def seeded_resnet():
    m = torchvision.models.resnet18()
    sd = m.state_dict()
    new = collections.OrderedDict()
    for idx, (k, t) in enumerate(sd.items()):
        new[k] = t if k.endswith("num_batches_tracked") else seeded_value(k, tuple(t.shape), idx)
    m.load_state_dict(new); m.eval()
    return m

def resnet_photo():
    """torchvision's own pipeline on photo.png with the seeded weights: top-5 classes and probabilities."""
    m = seeded_resnet()
    t = torchvision.transforms.Compose([
        torchvision.transforms.Resize(256), torchvision.transforms.CenterCrop(224), torchvision.transforms.ToTensor(),
        torchvision.transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = t(Image.open("photo.png").convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        p = torch.softmax(m(x)[0].double(), 0)
    top = torch.topk(p, 5)
    json.dump({"top5": top.indices.tolist(), "probabilities": top.values.tolist()}, open("resnet18_photo_top5.json", "w"))

def resnet():
    m = torchvision.models.resnet18()
    sd = m.state_dict()
    new = collections.OrderedDict()
    for idx, (k, t) in enumerate(sd.items()):
        new[k] = t if k.endswith("num_batches_tracked") else seeded_value(k, tuple(t.shape), idx)
    m.load_state_dict(new); m.eval()
    x = torch.tensor(uniform(999, 3 * 64 * 64).astype(np.float32).reshape(1, 3, 64, 64))   # small, so the debug-build test is quick
    with torch.no_grad():
        feats = torch.flatten(m.avgpool(m.layer4(m.layer3(m.layer2(m.layer1(m.maxpool(m.relu(m.bn1(m.conv1(x))))))))), 1)
        logits = m.fc(feats)
    json.dump({"names": list(sd.keys()), "features": feats[0].tolist(), "logits": logits[0].tolist()}, open("resnet18_reference.json", "w"))

def photos(wheel):
    z = zipfile.ZipFile(wheel)
    img = Image.open(io.BytesIO(z.read("skimage/data/chelsea.png"))).convert("RGB").crop((100, 60, 196, 124))
    img.save("photo.png")
    img.save("photo.jpg", quality=90)
    Image.open("photo.jpg").convert("RGB").save("photo_jpg_decoded.png")
    t = torchvision.transforms.Compose([torchvision.transforms.Resize(40), torchvision.transforms.CenterCrop(32)])
    t(Image.open("photo.png").convert("RGB")).save("photo_resized.png")

def checkpoints():
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict()
    sd["layer.weight"] = torch.randn(3, 4, generator=g)
    sd["layer.bias"] = torch.randn(3, generator=g, dtype=torch.float64)
    sd["bn.num_batches_tracked"] = torch.tensor(7)
    sd["transposed"] = torch.randn(4, 2, generator=g).t()          # non-contiguous view
    sd["half"] = torch.randn(5, generator=g).half()
    sd["nested"] = {"inner": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    torch.save(sd, "tiny_zip.pth")
    torch.save(sd, "tiny_legacy.pth", _use_new_zipfile_serialization=False)
    flat = {"layer.weight": sd["layer.weight"], "layer.bias": sd["layer.bias"], "bn.num_batches_tracked": sd["bn.num_batches_tracked"],
            "transposed": sd["transposed"], "half": sd["half"], "nested.inner": sd["nested"]["inner"]}
    json.dump({k: {"shape": list(v.shape), "values": v.float().flatten().tolist()} for k, v in flat.items()}, open("tiny_expected.json", "w"))
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned",))
    torch.save({"x": Evil()}, "evil.pth")

if __name__ == "__main__":
    resnet(); photos(sys.argv[1]); resnet_photo(); checkpoints()
    print("ok")
