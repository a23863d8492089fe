"""Writes the hostile files of issue 38 into the folder given: pickles and torch.save zips that crashed rnnlab
(deep nesting, a stride-0 storage bomb, zip bombs) and a CSV field with a terminal escape sequence. Standard library
only; nothing is downloaded."""
import os, struct, sys, zlib

out = sys.argv[1]
def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

nested_tuple = b"\x80\x02N" + b"\x85" * 60000 + b"."
nested_list = b"\x80\x02" + b"(" * 60000 + b"l" * 60000 + b"."
write("nested_tuple.pkl", nested_tuple)
write("nested_list.pkl", nested_list)

def zip_file(entries, central=None):
    """A zip of (name, data, deflate) entries; `central` lists (name, index of the local entry) for the directory."""
    local, offsets, meta = b"", [], []
    for name, data, deflate in entries:
        body = data
        if deflate:
            c = zlib.compressobj(9, zlib.DEFLATED, -15); body = c.compress(data) + c.flush()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        method = 8 if deflate else 0
        offsets.append(len(local))
        meta.append((crc, len(body), len(data), method))
        n = name.encode()
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(body), len(data), len(n), 0)
        local += n + body
    directory = b""
    central = central or [(e[0], i) for i, e in enumerate(entries)]
    for name, i in central:
        crc, csize, size, method = meta[i]
        n = name.encode()
        directory += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, csize, size, len(n), 0, 0, 0, 0, 0,
            offsets[i]) + n
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), len(local), 0)
    return local + directory + eocd

write("nested_zip.pth", zip_file([("archive/data.pkl", nested_tuple, False)]))

def tensor_dict(items):
    """A torch.save data.pkl: an OrderedDict of name -> _rebuild_tensor_v2(storage key, offset 0, size, stride)."""
    def s(text):
        b = text.encode(); return b"X" + struct.pack("<I", len(b)) + b
    def ints(values):
        return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"
    p = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01("
    for name, key, size, stride in items:
        storage = b"(" + s("storage") + b"ctorch\nFloatStorage\n" + s(key) + s("cpu") + b"J\x01\x00\x00\x00tQ"
        p += s(name) + b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage + b"J\x00\x00\x00\x00" + ints(size)
        p += ints(stride) + b"\x89ccollections\nOrderedDict\n)Rt" + b"R"
    return p + b"u."

# 1000 broadcast views (stride 0) of one 1-element storage, 2^24 elements each: 64 GB asked for.
views = [("w%d" % i, "0", [1 << 24], [0]) for i in range(1000)]
write("stride0.pth", zip_file([("archive/data.pkl", tensor_dict(views), False), ("archive/data/0", b"\0" * 4, False)]))

# One 1 GB zero storage deflated to about 1 MB, under a name ResNet-18 does not have.
big = b"\0" * (1 << 30)
write("zero_storage.pth", zip_file([
    ("archive/data.pkl", tensor_dict([("decoy", "0", [1 << 28], [1])]), False), ("archive/data/0", big, True)]))

# Eight directory entries pointing at one local 256 MB member: 2 GB asked for from 256 KB.
chunk = b"\0" * (1 << 28)
items = [("layer%d" % i, str(i), [1 << 26], [1]) for i in range(8)]
entries = [("archive/data.pkl", tensor_dict(items), False), ("archive/data/0", chunk, True)]
write("overlap.pth", zip_file(entries, [("archive/data.pkl", 0)] + [("archive/data/%d" % i, 1) for i in range(8)]))

# A CSV whose value field holds a terminal escape sequence and 100 KB of text.
write("escape.csv", b"value\n1\n2\n\x1b]0;pwned\x07\x1b[31m" + b"A" * 100000 + b"\n4\n")
