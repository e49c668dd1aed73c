import tfjs_infer as ti

model = ti.load_model(ti.examples.digits_path())  # model.json, its folder, .keras or .h5
x, y = ti.examples.digits_samples()               # float32 (360, 64), labels (360,)
probs = model.predict(x, batch_size=64)           # ndarray (360, 10), like TF.js/Keras
best = ti.top_k(probs, k=3, labels=ti.examples.digits_info()["labels"])
print(best.labels[0], best.scores[0])             # top-3 labels and scores of row 0
print(model.inputs, model.outputs)                # names, shapes (None = batch), dtypes
model.summary()                                   # Keras-style layer table
