class Graph:
    pass


class GraphModule:
    def __init__(self, root, graph):
        self.root, self.graph = root, graph
