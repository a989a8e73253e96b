"""Differential fuzz of kernels/uint256.cuh against Python integers (20 000 random triples with
edge-case bias: zero, small, near 2^256, powers of two). Exits non-zero on any mismatch.

    python3 kernels/tools/u256_fuzz.py
"""
import os, random, subprocess, sys, tempfile
HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(tempfile.gettempdir(), "lanes_u256_fuzz_%d" % os.getuid())
subprocess.run(["g++", "-std=c++17", "-O2", "-I", os.path.dirname(HERE), os.path.join(HERE, "u256_fuzz.cpp"), "-o", BIN], check=True)
random.seed(int(os.environ.get("SEED", "1")))
M=1<<256
def s(x): return x-M if x>>255 else x
def gen():
    k=random.random()
    if k<0.2: return random.randrange(M)
    if k<0.4: return random.randrange(1<<random.randrange(1,257))
    if k<0.5: return M-1-random.randrange(1000)
    if k<0.6: return random.randrange(300)
    if k<0.7: return (1<<random.randrange(256)) + random.choice([-1,0,1])
    return random.randrange(1<<random.choice([64,128,192,256,32,33,96]))
cases=[]
for i in range(20000):
    a,b,c=gen()%M,gen()%M,gen()%M
    cases.append((a,b,c))
inp=str(len(cases))+"\n"+"\n".join(" ".join("%x %x %x %x"%((x>>192)&(2**64-1),(x>>128)&(2**64-1),(x>>64)&(2**64-1),x&(2**64-1)) for x in t) for t in cases)
out=subprocess.run([BIN],input=inp.encode(),capture_output=True).stdout.decode().splitlines()
def sdiv(a,b):
    if b==0: return 0
    sa,sb=s(a),s(b); q=abs(sa)//abs(sb)
    if (sa<0)!=(sb<0): q=-q
    return q%M
def smod(a,b):
    if b==0: return 0
    sa,sb=s(a),s(b); r=abs(sa)%abs(sb)
    return (-r if sa<0 else r)%M
def byte(i,x): return 0 if i>=32 else (x>>(8*(31-i)))&0xff
def sext(b,x):
    if b>=31: return x
    bit=b*8+7
    if (x>>bit)&1: return (x | (M-(1<<(bit+1))))%M
    return x & ((1<<(bit+1))-1)
bad=0
for (a,b,c),line in zip(cases,out):
    exp=[(a+b)%M,(a-b)%M,(a*b)%M,a//b if b else 0,a%b if b else 0,sdiv(a,b),smod(a,b),(a+b)%c if c else 0,(a*b)%c if c else 0,pow(a,b,M),(a<<b)%M if b<256 else 0,a>>b if b<256 else 0,(s(a)>>min(b,300))%M,byte(b,a),sext(b,a)]
    got=line.split()
    g=[int(x,16) for x in got[:15]]
    flags=[int(x) for x in got[15:]]
    ef=[int(a<b),int(s(a)<s(b)),int(a==b),int(s(a)>s(b))]
    for i,(x,y) in enumerate(zip(g,exp)):
        if x!=y:
            bad+=1
            if bad<10: print("op",i,hex(a),hex(b),hex(c),hex(x),hex(y))
    if flags!=ef: bad+=1; print("flags",hex(a),hex(b))
print("mismatches", bad, "of", len(out))
sys.exit(1 if bad or len(out) != len(cases) else 0)
