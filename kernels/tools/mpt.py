import rlp
from eth_hash.auto import keccak

def _nibbles(b):
    out = []
    for x in b:
        out.append(x >> 4); out.append(x & 15)
    return out

def _hp(nibs, leaf):
    flag = 2 if leaf else 0
    if len(nibs) % 2:
        first = [(flag + 1) << 4 | nibs[0]]
        rest = nibs[1:]
    else:
        first = [flag << 4]
        rest = nibs
    return bytes(first + [rest[i] << 4 | rest[i + 1] for i in range(0, len(rest), 2)])

def _node(items, depth):
    # items: list of (nibbles, value) sorted, all sharing prefix up to depth
    if len(items) == 1:
        k, v = items[0]
        return [_hp(k[depth:], True), v]
    # common prefix
    first, last = items[0][0], items[-1][0]
    i = depth
    while i < len(first) and i < len(last) and first[i] == last[i]:
        i += 1
    if i > depth:
        child = _node(items, i)
        return [_hp(first[depth:i], False), _ref(child)]
    branch = [b''] * 17
    for n in range(16):
        sub = [it for it in items if len(it[0]) > depth and it[0][depth] == n]
        if sub:
            branch[n] = _ref(_node(sub, depth + 1))
    for it in items:
        if len(it[0]) == depth:
            branch[16] = it[1]
    return branch

def _ref(node):
    enc = rlp.encode(node)
    if len(enc) < 32:
        return node
    return keccak(enc)

def trie_root(kv):
    if not kv:
        return keccak(rlp.encode(b''))
    items = sorted((_nibbles(k), v) for k, v in kv.items())
    return keccak(rlp.encode(_node(items, 0)))
