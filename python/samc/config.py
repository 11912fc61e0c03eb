"""A run configuration: the library's table of `samc train` / `samc
sharpness` flags, set by name from Python values (keyword arguments use _
for -: no_bias=True, lr_schedule="cosine")."""
import math

from ._lib import CMD_TRAIN, Error, check, errbuf, ffi, lib


def value_text(v):
    """A Python value as the flag's value string."""
    if v is True:
        return "on"
    if v is False:
        return "off"
    if isinstance(v, float):
        return "inf" if v == math.inf else repr(v)
    if isinstance(v, (list, tuple)):
        return ",".join(value_text(x) for x in v)
    return str(v)


def flag_names(cmds=CMD_TRAIN):
    """The names of the flags of cmds, in the table's order."""
    out, i = [], 0
    while True:
        f = lib.samc_config_flag(i)
        if f == ffi.NULL:
            return out
        if f.cmds & cmds:
            out.append(ffi.string(f.name).decode())
        i += 1


class Config:
    """A samc_config with the defaults of both commands."""

    def __init__(self, cmds=CMD_TRAIN):
        self.cmds = cmds
        self.ptr = ffi.gc(lib.samc_config_new(), lib.samc_config_free)
        if self.ptr == ffi.NULL:
            raise MemoryError("samc_config_new")

    def _flag(self, name):
        b = name.replace("_", "-").encode()
        f = lib.samc_config_find(self.cmds, b, len(b))
        if f == ffi.NULL:
            raise Error("unknown flag '%s'" % name, "SAMC_EINVAL")
        return f

    def set(self, name, value):
        f = self._flag(name)
        err = errbuf()
        check(lib.samc_config_set(self.ptr, f, value_text(value).encode(), err), err)

    def update(self, flags):
        for k, v in flags.items():
            if v is not None:
                self.set(k, v)

    def get(self, name):
        buf = ffi.new("char[]", 4096)
        lib.samc_config_get(self.ptr, self._flag(name), buf, 4096)
        return ffi.string(buf).decode()

    def read(self, path, keys=None):
        err = errbuf()
        karr = ffi.NULL
        if keys is not None:
            held = [ffi.new("char[]", k.encode()) for k in keys]
            karr = ffi.new("const char *[]", held + [ffi.NULL])
        check(lib.samc_config_read(self.ptr, self.cmds, str(path).encode(), karr, err), err)

    def read_bases(self, resume=None, config=None):
        """The layers under the flags given: resume/config.txt (and out =
        resume), then the file config, as `samc train` reads them."""
        err = errbuf()
        enc = lambda v: ffi.NULL if v is None else str(v).encode()
        check(lib.samc_config_read_bases(self.ptr, enc(resume), enc(config), err), err)

    def as_dict(self, cmds=None):
        """Every flag of the commands (those of this configuration) with its
        value string."""
        return {n: self.get(n) for n in flag_names(cmds or self.cmds)}
