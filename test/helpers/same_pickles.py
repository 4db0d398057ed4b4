"""Compares the Inductor cache entries of two roots with Python's own unpickler
(every class replaced by an inert recorder: nothing is executed). Paths under OLD
in A must be paths under NEW in B; every other value must be equal.
Usage: same_pickles.py A B OLD NEW; prints "equal N" or fails."""
import glob
import pickle
import sys

class Obj:
    def __init__(s,*a,**k): s.args=a; s.kw=k
    def __setstate__(s,st): s.state=st
    def __reduce__(s): return (object, ())
def cls(m,n): return type(n,(Obj,),{'cls':m+'.'+n})
class U(pickle.Unpickler):
    def find_class(s,m,n): return cls(m,n)
    def persistent_load(s,pid): return ('PID',pid)
def norm(v, old, new, seen):
    if isinstance(v,str): return v.replace(old,new) if v.startswith(old+'/') and '\n' not in v else v
    if isinstance(v,(list,tuple)): return type(v)(norm(x,old,new,seen) for x in v) if not isinstance(v,tuple) else tuple(norm(x,old,new,seen) for x in v)
    if isinstance(v,dict): return {norm(k,old,new,seen):norm(x,old,new,seen) for k,x in v.items()}
    if isinstance(v,set): return v
    if isinstance(v,Obj):
        if id(v) in seen: return ('seen',v.cls)
        seen.add(id(v))
        return (v.cls, norm(getattr(v,'args',()),old,new,seen), norm(getattr(v,'kw',{}),old,new,seen), norm(getattr(v,'state',None),old,new,seen))
    return v
a,b,old,new=sys.argv[1:5]
n=0
for f in sorted(glob.glob(a+'/fxgraph/*/*/*')+glob.glob(a+'/aotautograd/*/*')):
    g=b+f[len(a):]
    x=U(open(f,'rb')).load(); y=U(open(g,'rb')).load()
    nx=norm(x,old,new,set()); ny=norm(y,new,new,set())
    assert repr(nx)==repr(ny), f
    n+=1
print("equal", n)
