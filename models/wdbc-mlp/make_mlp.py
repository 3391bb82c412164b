#!/usr/bin/python3
"""models/wdbc-mlp/make_mlp.py DATA.csv OUT_DIR — a non-tree demo model, made the way a model
arrives from outside LocalDx: an sklearn MLP (StandardScaler + MLPClassifier, Debian's
python3-sklearn) on the Wisconsin breast data, exported to ONNX by hand with python3-onnx.

Writes OUT_DIR/model.onnx (Sub, Div, Gemm, Relu, Gemm, Sigmoid, Concat -> probabilities [N, 2]),
OUT_DIR/reference.csv (the rows with the model's probabilities as p_benign, p_malignant: the
bundle's explainer background and drift histograms come from them) and OUT_DIR/card.json (this
folder's card.json plus stratified 5-fold cross-validated metrics). `localdx bundle` then packs
it with the model-agnostic explainer (scripts/demo-bundles).
"""
import csv, json, os, sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))


def mlp_onnx(scaler, mlp, n_features, custom_op=False):
    """StandardScaler + one-hidden-layer MLPClassifier (binary, logistic output) as ONNX.
    custom_op puts the activation in a made-up domain (for the tests' refusal case)."""
    t = lambda a, name: numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)
    (W1, W2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    inits = [t(scaler.mean_, 'mean'), t(scaler.scale_, 'scale'), t(W1, 'W1'), t(b1, 'b1'), t(W2, 'W2'), t(b2, 'b2'), t([[1.0]], 'one')]
    act = helper.make_node('FancyRelu', ['h'], ['a'], domain='com.example') if custom_op else helper.make_node('Relu', ['h'], ['a'])
    nodes = [helper.make_node('Sub', ['input', 'mean'], ['centred']), helper.make_node('Div', ['centred', 'scale'], ['z']),
             helper.make_node('Gemm', ['z', 'W1', 'b1'], ['h']), act, helper.make_node('Gemm', ['a', 'W2', 'b2'], ['logit']),
             helper.make_node('Sigmoid', ['logit'], ['p']), helper.make_node('Sub', ['one', 'p'], ['q']),
             helper.make_node('Concat', ['q', 'p'], ['probabilities'], axis=1)]
    graph = helper.make_graph(nodes, 'sklearn-mlp', [helper.make_tensor_value_info('input', TensorProto.FLOAT, [None, n_features])],
                              [helper.make_tensor_value_info('probabilities', TensorProto.FLOAT, [None, 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 15)] + ([helper.make_opsetid('com.example', 1)] if custom_op else []))
    model.ir_version = 8
    if not custom_op:
        onnx.checker.check_model(model)
    return model


def load_wdbc(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    label = header.index('diagnosis')
    X = np.array([[float(v) for i, v in enumerate(r) if i != label] for r in body], dtype=np.float32)
    y = np.array([1 if r[label] == 'malignant' else 0 for r in body])
    return header, body, X, y


def fit(X, y):
    scaler = StandardScaler().fit(X)
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=3000, random_state=0, alpha=1e-3).fit(scaler.transform(X), y)
    return scaler, mlp


def main(data, out):
    os.makedirs(out, exist_ok=True)
    header, body, X, y = load_wdbc(data)
    # Honest evaluation: stratified 5-fold CV, the scaler fitted inside each fold.
    oof = np.zeros(len(y))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=1).split(X, y):
        s, m = fit(X[train], y[train])
        oof[test] = m.predict_proba(s.transform(X[test]))[:, 1]
    scaler, mlp = fit(X, y)
    proba = mlp.predict_proba(scaler.transform(X))
    onnx.save(mlp_onnx(scaler, mlp, X.shape[1]), f'{out}/model.onnx')
    with open(f'{out}/reference.csv', 'w', newline='') as g:
        w = csv.writer(g)
        w.writerow(header + ['p_benign', 'p_malignant'])
        for r, p in zip(body, proba):
            w.writerow(r + [repr(float(p[0])), repr(float(p[1]))])
    with open(f'{HERE}/card.json') as f:
        card = json.load(f)
    auc, acc = roc_auc_score(y, oof), accuracy_score(y, oof >= 0.5)
    card['evaluation'] = (f'Stratified 5-fold cross-validation (scaler fitted within each fold), out-of-fold: AUC-ROC {auc:.3f}, '
                          f'accuracy {acc:.3f} at threshold 0.5, {len(y)} cases.')
    card['metrics_summary'] = {'auc_roc': round(auc, 4), 'accuracy': round(acc, 4), 'folds': 5}
    with open(f'{out}/card.json', 'w') as f:
        json.dump(card, f, indent=2)
    print(f'wdbc-mlp: {len(y)} rows, cross-validated AUC {auc:.3f}, accuracy {acc:.3f}')
    return scaler, mlp, X, proba


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
