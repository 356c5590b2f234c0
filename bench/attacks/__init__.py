"""The hostile clients of ``bench/hostile.py``: one module per listener attacked."""
