"""asv: data loader epoch and augmentation kernels on (256, 3, 32, 32) batches."""
import numpy as np

import fastprims as fp
from fastprims import data as D

from .common import labels, randn


class Loader:
    params = [[0, 1, 2], ["none", "flip+translate", "affine"]]
    param_names = ["num_threads", "transform"]

    def setup(self, num_threads, transform):
        X = randn((2048, 3, 32, 32), "float32")
        y = labels(2048, 10)
        t = {"none": None,
             "flip+translate": D.Compose([D.RandomHorizontalFlip(), D.RandomTranslate(4)]),
             "affine": D.RandomAffine(15, (0.1, 0.1), (0.9, 1.1))}[transform]
        self.loader = D.DataLoader(X, y, batch_size=256, transform=t, num_threads=num_threads)

    def teardown(self, num_threads, transform):
        self.loader.close()

    def time_epoch(self, num_threads, transform):
        for _ in self.loader:
            pass


class Augment:
    params = [["float32", "float64"], [1, 2]]
    param_names = ["dtype", "threads"]

    def setup(self, dtype, threads):
        fp.set_num_threads(threads)
        self.x = np.array(randn((256, 3, 32, 32), dtype))
        self.mats = D.affine_matrices(32, 32, np.linspace(-15, 15, 256), None, 1.1)
        self.shifts = np.tile([[2, -3]], (256, 1))

    def time_flip(self, dtype, threads):
        D.flip_horizontal(self.x, out=self.x)

    def time_translate(self, dtype, threads):
        D.translate(self.x, self.shifts, out=self.x)

    def time_affine(self, dtype, threads):
        D.affine_transform(self.x, self.mats, out=self.x)

    def time_standardize(self, dtype, threads):
        D.standardize(self.x, 0.5, 2.0, out=self.x)
