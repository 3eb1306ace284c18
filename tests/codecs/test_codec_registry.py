"""codecs.get / codecs.NAMES."""
import pytest

from sem_sionna import codecs

LABELS = {"jpeg": "JPEG", "jpeg2000": "JPEG2000", "webp": "WebP", "bpg": "BPG",
          "hevc": "HEVC-intra (minimal framing)"}


def test_names():
    assert codecs.NAMES == ("jpeg", "jpeg2000", "webp", "bpg", "hevc")


@pytest.mark.parametrize("name", codecs.NAMES)
def test_get_returns_named_codec(name):
    codec = codecs.get(name)
    assert isinstance(codec, codecs.ImageCodec)
    assert codec.name == name and codec.label == LABELS[name]
    assert isinstance(codec.qualities, tuple) and len(codec.qualities) > 10
    assert codecs.get(codec) is codec
    rebuilt = codecs.get(**codec.get_config())
    assert type(rebuilt) is type(codec) and rebuilt.get_config() == codec.get_config()


def test_get_passes_constructor_arguments():
    codec = codecs.get("hevc", chroma_format="420", preset="fast")
    assert (codec.chroma_format, codec.preset) == ("420", "fast")
    assert "preset='fast'" in repr(codec)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="name") as info:
        codecs.get("bpg2")
    for name in codecs.NAMES:
        assert repr(name) in str(info.value)


def test_get_rejects_non_string():
    with pytest.raises(TypeError, match="name"):
        codecs.get(3)
    with pytest.raises(TypeError, match="kwargs"):
        codecs.get(codecs.get("jpeg"), quality=3)
