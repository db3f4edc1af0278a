"""op_ports.py — which inputs/outputs of an ONNX op may hold float16, read
from the op schemas of python-onnx 1.12 (opsets up to 17).

Port kinds, one character per port (a trailing '*' repeats the last kind
for variadic ports):
  F  the port's type constraint admits float and float16: it follows the
     node (float16 when the node is converted)
  -  it does not (integers, bool, or float only, as Resize's scales)
Used by test_fp16_table.py to check the table in src/quant/fp16_ops.c.
"""
import onnx.defs as defs

FLOATS = {"tensor(float)", "tensor(float16)"}


def _kind(type_str, constraints):
    allowed = constraints.get(type_str, [type_str])
    return "F" if FLOATS <= set(allowed) else "-"


def _ports(params, constraints):
    s = ""
    for p in params:
        s += _kind(p.typeStr, constraints)
    if params and params[-1].option == defs.OpSchema.FormalParameterOption.Variadic:
        s += "*"
    return s


def schema_ports(op, opset, domain=""):
    """(since_version, in_kinds, out_kinds, bf16) or None if no schema."""
    try:
        s = defs.get_schema(op, opset, domain)
    except Exception:
        return None
    cons = {t.type_param_str: list(t.allowed_type_strs) for t in s.type_constraints}
    fin, fout = _ports(s.inputs, cons), _ports(s.outputs, cons)
    bf16 = True
    any_f = False
    for p in list(s.inputs) + list(s.outputs):
        if _kind(p.typeStr, cons) == "F":
            any_f = True
            if "tensor(bfloat16)" not in cons.get(p.typeStr, [p.typeStr]):
                bf16 = False
    return s.since_version, fin, fout, bf16 and any_f


def versions(op, last=17, domain=""):
    """Every distinct schema version of op up to opset last."""
    out, seen = [], set()
    for v in range(1, last + 1):
        r = schema_ports(op, v, domain)
        if r and r[0] not in seen:
            seen.add(r[0])
            out.append(r)
    return out
