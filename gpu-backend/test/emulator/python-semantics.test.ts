// The Python behaviours client-visible texts depend on: str()/repr(), int()/float() conversion
// errors, os.path rules and json.dumps formatting.
import { describe, it } from "vitest";
import { pyJsonDumps } from "../../emulator/py/json.ts";
import { basename, commonpath, dirname, normpath, splitext } from "../../emulator/py/path.ts";
import { PyException, pyFloat, pyFloatRepr, pyInt, pyRepr, pyStr } from "../../emulator/py/values.ts";

const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof PyException ? `${err.pyType}: ${err.message}` : String(err);
  }
  return "no error";
};

describe("Python semantics", () => {
  it("formats values like str() and repr()", ({ expect }) => {
    expect(pyRepr({ a: [1, "x", null, true], "it's": 1.5 })).toBe(`{'a': [1, 'x', None, True], "it's": 1.5}`);
    expect(pyStr("plain")).toBe("plain");
    expect(pyFloatRepr(1)).toBe("1.0");
    expect(pyRepr(1e-7)).toBe("1e-07");
  });

  it("converts like int() and float(), with their error texts", ({ expect }) => {
    expect([pyInt(" 42 "), pyInt(3.9), pyInt(true), pyInt("1_000")]).toEqual([42, 3, 1, 1000]);
    expect(errorOf(() => pyInt("4.5"))).toBe("ValueError: invalid literal for int() with base 10: '4.5'");
    expect(errorOf(() => pyInt(null))).toBe("TypeError: int() argument must be a string, a bytes-like object or a real number, not 'NoneType'");
    expect(errorOf(() => pyInt(Infinity))).toBe("OverflowError: cannot convert float infinity to integer");
    expect([pyFloat("1e3"), pyFloat("-inf"), pyFloat(".5")]).toEqual([1000, -Infinity, 0.5]);
    expect(errorOf(() => pyFloat("x1"))).toBe("ValueError: could not convert string to float: 'x1'");
  });

  it("follows os.path where it differs from node:path", ({ expect }) => {
    expect([normpath("a/"), normpath(""), normpath("//x"), normpath("/../a/./b/..")]).toEqual(["a", ".", "//x", "/a"]);
    expect([dirname("."), dirname("a/b"), dirname("/a"), basename("a/b/")]).toEqual(["", "a", "/", ""]);
    expect(commonpath("/out", "/out/sub")).toBe("/out");
    expect(commonpath("/out", "/outside")).toBe("/");
    expect([splitext("a.tar.gz"), splitext(".bashrc"), splitext("dir.d/file")]).toEqual([
      ["a.tar", ".gz"],
      [".bashrc", ""],
      ["dir.d/file", ""],
    ]);
  });

  it("dumps JSON with Python's separators and ASCII escapes, keeping Map order", ({ expect }) => {
    expect(pyJsonDumps({ a: [1, null], b: "é\n" })).toBe('{"a": [1, null], "b": "\\u00e9\\n"}');
    expect(
      pyJsonDumps(
        new Map([
          ["10", 1],
          ["2", 2],
        ]),
      ),
    ).toBe('{"10": 1, "2": 2}');
  });
});
