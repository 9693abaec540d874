fentry:bpf:some_prog { @ = count(); }
