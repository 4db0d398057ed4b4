from ._standin import FACTS

cuda = FACTS["torch"]["cuda"]
