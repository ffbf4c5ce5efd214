// This file is part of sale_flow.  The COPYRIGHT file at the top level of
// this repository contains the full copyright notices and license terms.
//
// The signature pad and the photos of the signing page (web/sign_page.html)
(function () {
    var canvas = document.getElementById('pad');
    var ctx = canvas.getContext('2d');
    var drawn = false, down = false;
    function fit() {
        // drawn at the screen's resolution, not blurred on a phone
        var ratio = window.devicePixelRatio || 1;
        canvas.width = Math.round(canvas.clientWidth * ratio);
        canvas.height = Math.round(canvas.clientHeight * ratio);
        ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
        ctx.lineWidth = 2; ctx.lineCap = 'round';
    }
    fit();
    function pos(e) {
        var r = canvas.getBoundingClientRect();
        return [e.clientX - r.left, e.clientY - r.top];
    }
    canvas.addEventListener('pointerdown', function (e) {
        down = true; var p = pos(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]);
    });
    canvas.addEventListener('pointermove', function (e) {
        if (!down) { return; }
        var p = pos(e); ctx.lineTo(p[0], p[1]); ctx.stroke(); drawn = true;
    });
    window.addEventListener('pointerup', function () { down = false; });
    document.getElementById('clear').addEventListener('click', function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false;
    });
    document.getElementById('form').addEventListener('submit', function () {
        document.getElementById('image').value =
            drawn ? canvas.toDataURL('image/png') : '';
    });
    // photos of the goods: scaled down on the phone (at most 1024 px, JPEG)
    // so that six camera pictures stay below trytond's request size limit
    // for pages without login ([request] max_size, 2 MB by default)
    var photos = document.getElementById('photos');
    var kept = document.getElementById('kept');
    photos.addEventListener('change', function () {
        kept.innerHTML = '';
        Array.prototype.slice.call(photos.files, 0, 6).forEach(
            function (file) {
                var img = new Image();
                img.onload = function () {
                    var scale = Math.min(1, 1024 / Math.max(
                        img.width, img.height));
                    var c = document.createElement('canvas');
                    c.width = Math.round(img.width * scale);
                    c.height = Math.round(img.height * scale);
                    c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
                    var input = document.createElement('input');
                    input.type = 'hidden'; input.name = 'photo';
                    input.value = c.toDataURL('image/jpeg', 0.7);
                    kept.appendChild(input);
                    URL.revokeObjectURL(img.src);
                };
                img.src = URL.createObjectURL(file);
            });
    });
})();
